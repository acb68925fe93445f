import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

extension SandboxService {
    /// Opens the service for `config`: creates the data directory, opens the store, loads (or makes)
    /// the host id, and prepares the backends; plugins load on first use. Every line a plugin logs
    /// reaches `log`, attributed to its backend; the front decides which levels to show.
    /// `preload` names backends the caller will use: their plugins load on threads of their own while
    /// the store opens (`BackendRegistry.preload`).
    public static func open(config: Config, clock: any HostClock, environment: [String: String], preload: [String] = [],
                            log: @escaping @Sendable (PluginLogLine) -> Void) throws(SandboxerError) -> SandboxService {
        let context = PluginHostContext(
            now: { clock.now() },
            secret: { name in environment[SecretNames.environmentKey(name)] },
            logLine: log)
        let backends = BackendRegistry(config: config, context: context)
        // Most opens find the directory there: one stat instead of FileManager's first use (its
        // attribute dictionary alone cost a CLI command ~0.24 M instructions, callgrind).
        var info = stat()
        if stat(config.dataDir, &info) != 0 || (info.st_mode & S_IFMT) != S_IFDIR {
            do {
                try FileManager.default.createDirectory(atPath: config.dataDir, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw SandboxerError(.store, "Cannot create the data directory \(config.dataDir): \(error.reasonText)")
            }
        }
        // After the data directory exists (a plugin's data_dir is under it), before the store opens.
        preload.forEach(backends.preload)
        let store: SandboxStore
        do {
            store = try SandboxStore(path: (config.dataDir).appendingPathComponent("sandboxer.db"))
        } catch {
            throw SandboxerError(.store, error.message)
        }
        let hostId: String
        if let configured = config.hostId { hostId = configured } else { hostId = try loadHostId(dataDir: config.dataDir) }
        return SandboxService(config: config, store: store, backends: backends, clock: clock, hostId: hostId)
    }

    /// The host id kept in `<data_dir>/host-id`, made on first use.
    static func loadHostId(dataDir: String) throws(SandboxerError) -> String {
        let path = (dataDir).appendingPathComponent("host-id")
        if let id = readHostId(path), !id.isEmpty { return id }
        var rng = SystemRandomNumberGenerator()
        let id = "host-" + String(cFormat: "%012llx", (rng.next() as UInt64) & 0xffff_ffff_ffff)
        // Write to a temp file then link it into place: two first commands agree on one id.
        let tmp = path + ".\(getpid())"
        do {
            try Data((id + "\n").utf8).write(to: URL(fileURLWithPath: tmp))
            defer { unlink(tmp) }
            if link(tmp, path) != 0 && errno != EEXIST {
                throw SandboxerError(.store, "Cannot write the host id to \(path): \(String(cString: strerror(errno))).")
            }
        } catch let error as SandboxerError {
            throw error
        } catch {
            throw SandboxerError(.store, "Cannot write the host id to \(path): \(error.reasonText)")
        }
        let stored = readHostId(path)
        return stored?.isEmpty == false ? stored! : id
    }

    /// The trimmed text of the host-id file, nil when it cannot be read as UTF-8 (up to 4 KiB: an id is
    /// one short line).
    private static func readHostId(_ path: String) -> String? {
        guard case .success(let bytes) = BoundedFile.read(path, limit: 4_096, limitText: "4 KiB") else { return nil }
        return String(validating: bytes, as: UTF8.self)?.trimmed()
    }
}

/// Where plugin secrets come from: the host's environment, `SANDBOXER_SECRET_<NAME>`.
/// Plugins never read the environment themselves; they ask the host by name.
public enum SecretNames {
    public static func environmentKey(_ name: String) -> String {
        "SANDBOXER_SECRET_" + name.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }
}
