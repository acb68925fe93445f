import ProtobufWire

// Message types from the contracts (shared/contracts: Modal's api.proto, E2B's process.proto),
// written the way a plugin writes them: plain code over ProtoWriter/ProtoReader, only the
// fields the golden vectors use. proto3 leaves out defaults; `optional` fields are written when set.

/// modal.client.SandboxCreateRequest{1 app_id, 2 definition: Sandbox}.
struct SandboxCreateRequest: ProtoMessage, Equatable {
    var appID = ""
    var definition: SandboxDefinition?

    init(appID: String = "", definition: SandboxDefinition? = nil) { self.appID = appID; self.definition = definition }

    func encode(to writer: inout ProtoWriter) {
        if !appID.isEmpty { writer.string(1, appID) }
        if let definition { writer.message(2, definition) }
    }

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            switch field.number {
            case 1: appID = try field.string()
            case 2: definition = try field.message(as: SandboxDefinition.self)
            default: break
            }
        }
    }
}

/// modal.client.Sandbox{1 entrypoint_args repeated, 3 image_id, 7 timeout_secs uint32, 33 idle_timeout_secs optional uint32}.
struct SandboxDefinition: ProtoMessage, Equatable {
    var entrypointArgs: [String] = []
    var imageID = ""
    var timeoutSecs: UInt32 = 0
    var idleTimeoutSecs: UInt32?

    init(entrypointArgs: [String] = [], imageID: String = "", timeoutSecs: UInt32 = 0, idleTimeoutSecs: UInt32? = nil) {
        self.entrypointArgs = entrypointArgs; self.imageID = imageID
        self.timeoutSecs = timeoutSecs; self.idleTimeoutSecs = idleTimeoutSecs
    }

    func encode(to writer: inout ProtoWriter) {
        writer.strings(1, entrypointArgs)
        if !imageID.isEmpty { writer.string(3, imageID) }
        if timeoutSecs != 0 { writer.uint32(7, timeoutSecs) }
        if let idleTimeoutSecs { writer.uint32(33, idleTimeoutSecs) }
    }

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            switch field.number {
            case 1: entrypointArgs.append(try field.string())
            case 3: imageID = try field.string()
            case 7: timeoutSecs = try field.uint32()
            case 33: idleTimeoutSecs = try field.uint32()
            default: break
            }
        }
    }
}

/// modal.client.SandboxTerminateRequest{1 sandbox_id}.
struct SandboxTerminateRequest: ProtoMessage, Equatable {
    var sandboxID = ""

    init(sandboxID: String) { self.sandboxID = sandboxID }

    func encode(to writer: inout ProtoWriter) {
        if !sandboxID.isEmpty { writer.string(1, sandboxID) }
    }

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            if field.number == 1 { sandboxID = try field.string() }
        }
    }
}

/// process.StartRequest{1 process: ProcessConfig, 4 stdin optional bool}.
struct StartRequest: ProtoMessage, Equatable {
    var process = ProcessConfig()
    var stdin: Bool?

    init(process: ProcessConfig, stdin: Bool?) { self.process = process; self.stdin = stdin }

    func encode(to writer: inout ProtoWriter) {
        writer.message(1, process)
        if let stdin { writer.bool(4, stdin) }
    }

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            switch field.number {
            case 1: process = try field.message(as: ProcessConfig.self)
            case 4: stdin = try field.bool()
            default: break
            }
        }
    }
}

/// process.ProcessConfig{1 cmd, 2 args repeated, 3 envs map<string,string>, 4 cwd optional}.
struct ProcessConfig: ProtoMessage, Equatable {
    var cmd = ""
    var args: [String] = []
    var envs: [String: String] = [:]
    var cwd: String?

    init(cmd: String = "", args: [String] = [], envs: [String: String] = [:], cwd: String? = nil) {
        self.cmd = cmd; self.args = args; self.envs = envs; self.cwd = cwd
    }

    func encode(to writer: inout ProtoWriter) {
        if !cmd.isEmpty { writer.string(1, cmd) }
        writer.strings(2, args)
        writer.stringMap(3, envs)
        if let cwd { writer.string(4, cwd) }
    }

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            switch field.number {
            case 1: cmd = try field.string()
            case 2: args.append(try field.string())
            case 3:
                let entry = try field.stringMapEntry()
                envs[entry.key] = entry.value
            case 4: cwd = try field.string()
            default: break
            }
        }
    }
}

/// process.StartResponse{1 event: ProcessEvent}, with ProcessEvent's oneof flattened into an enum.
enum ProcessEvent: ProtoMessage, Equatable {
    case start(pid: UInt32)
    case stdout([UInt8])
    case stderr([UInt8])
    case end(exitCode: Int32, exited: Bool, status: String)
    case keepalive
    case none

    func encode(to writer: inout ProtoWriter) {
        writer.message(1) { event in
            switch self {
            case .start(let pid): event.message(1) { if pid != 0 { $0.uint32(1, pid) } }
            case .stdout(let bytes): event.message(2) { $0.bytes(1, bytes) }
            case .stderr(let bytes): event.message(2) { $0.bytes(2, bytes) }
            case .end(let exitCode, let exited, let status):
                event.message(3) {
                    if exitCode != 0 { $0.sint32(1, exitCode) }
                    if exited { $0.bool(2, true) }
                    if !status.isEmpty { $0.string(3, status) }
                }
            case .keepalive: event.message(4) { _ in }
            case .none: break
            }
        }
    }

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        self = .none
        while let response = try reader.next() {
            guard response.number == 1 else { continue }
            var event = try response.message()
            while let field = try event.next() {
                var body = try field.message()
                switch field.number {
                case 1:
                    var pid: UInt32 = 0
                    while let f = try body.next() { if f.number == 1 { pid = try f.uint32() } }
                    self = .start(pid: pid)
                case 2:
                    while let f = try body.next() {
                        if f.number == 1 { self = .stdout(try f.bytes()) }
                        if f.number == 2 { self = .stderr(try f.bytes()) }
                    }
                case 3:
                    var code: Int32 = 0, exited = false, status = ""
                    while let f = try body.next() {
                        switch f.number {
                        case 1: code = try f.sint32()
                        case 2: exited = try f.bool()
                        case 3: status = try f.string()
                        default: break
                        }
                    }
                    self = .end(exitCode: code, exited: exited, status: status)
                case 4: self = .keepalive
                default: break
                }
            }
        }
    }
}
