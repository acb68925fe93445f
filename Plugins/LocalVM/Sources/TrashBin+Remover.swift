import Basics
import CLocalVM
import Glibc

extension TrashBin {
    /// argv[0] of the remover, what `ps` shows for it (the remover rewrites its whole command line
    /// to this, dropping the mode and the directory).
    static let removerTitle = "sandboxer: trash remover"

    /// The argument that selects the init program's remover mode (CLocalVM/trash.c).
    static let removerMode = "--remove-trash"

    /// Starts the init program in its remover mode (`sandboxer-localvm-init --remove-trash DIR`)
    /// with posix_spawn, which copies nothing of this process's address space (the fork of
    /// `clvm_trash_remove_detached` copied a CLI's or serve's page tables, and the caller waited
    /// for it: ~5 ms of a `destroy`). The started process forks the remover and exits at once;
    /// this waits only for that exit. False when there is no program or it could not start.
    func spawnRemover() -> Bool {
        guard let program = removerProgram else { return false }
        var options = ChildProcess.Options([Self.removerTitle, Self.removerMode, dir], executable: program)
        options.environment = []
        options.stdout = .null
        options.stderr = .null
        guard case .success(let child) = ChildProcess.spawn(options) else { return false }
        return child.wait() == .exited(0)
    }
}
