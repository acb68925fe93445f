import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// The exec helper is a clone of the host that lives as long as the command: it must not keep the
/// host's descriptors (client sockets, pipes) open meanwhile.
@Suite(localVMAvailable) struct LocalVMExecDescriptorTests {
    @Test("a long exec does not hold the host's descriptors open")
    func helperDropsHostDescriptors() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "fds-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        // A pipe the host owns, inheritable (no CLOEXEC), open while the exec starts.
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        defer { close(readEnd) }

        let started = world.dataDir + "/sandboxes/\(id)/upper/started"
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            // Runs until the test creates /go (bounded: 600 rounds of 50 ms).
            _ = try? world.sh(id, "touch /started; i=0; while [ ! -e /go ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done")
            done.signal()
        }
        // The command is running once its marker reaches the upper dir (bounded poll, no fixed sleep).
        var polls = 0
        while !FileManager.default.fileExists(atPath: started) && polls < 2000 { usleep(5000); polls += 1 }
        try #require(FileManager.default.fileExists(atPath: started), "the long exec never started")

        // The host closes its write end: the reader must see EOF now, not when the command ends.
        close(writeEnd)
        var p = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&p, 1, 3000)
        var byte: UInt8 = 0
        let eof = ready == 1 && read(readEnd, &byte, 1) == 0
        _ = try world.sh(id, "touch /go")
        done.wait()
        #expect(eof, "the exec helper kept the host's pipe open while the command ran")
    }
}
