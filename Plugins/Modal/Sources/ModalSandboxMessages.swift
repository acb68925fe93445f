import ProtobufWire

// The V1 sandbox calls of the ModalClient service (as Modal's Go client uses them).

/// `PortSpec`: a container port to tunnel; `unencrypted` asks for a raw TCP tunnel instead of TLS.
struct PortSpec: Sendable, Equatable {
    var port: UInt32
    var unencrypted: Bool
}

/// `Sandbox`: the definition of a sandbox, only the fields this plugin sets.
struct SandboxDefinition: ModalRequest {
    var entrypointArgs: [String]
    var imageID: String
    var memoryMB: UInt32?
    var milliCPU: UInt32?
    var timeoutSecs: UInt32
    var blockNetwork = false
    var ports: [PortSpec] = []
    var idleTimeoutSecs: UInt32?
    var environment: [String: String] = [:]

    func encode(to writer: inout ProtoWriter) {
        writer.strings(1, entrypointArgs)
        writer.string(3, imageID)
        if memoryMB != nil || milliCPU != nil {
            writer.message(5) { resources in                       // resources: Resources
                if let memoryMB, memoryMB > 0 { resources.uint32(2, memoryMB) }
                if let milliCPU, milliCPU > 0 { resources.uint32(3, milliCPU) }
            }
        }
        if timeoutSecs > 0 { writer.uint32(7, timeoutSecs) }
        if blockNetwork { writer.bool(11, true) }
        if !ports.isEmpty {
            writer.message(20) { specs in                          // open_ports: PortSpecs
                for spec in ports {
                    specs.message(1) { one in
                        one.uint32(1, spec.port)
                        if spec.unencrypted { one.bool(2, true) }
                    }
                }
            }
        }
        if let idleTimeoutSecs { writer.uint32(33, idleTimeoutSecs) }   // optional: written when set
        if !environment.isEmpty {
            writer.message(40) { map in map.stringMap(1, environment) } // environment_variables: StringMap
        }
    }
}

/// `SandboxCreateRequest`.
struct SandboxCreateRequest: ModalRequest {
    var appID: String
    var definition: SandboxDefinition
    var environmentName: String
    var tags: [SandboxTag]

    func encode(to writer: inout ProtoWriter) {
        writer.string(1, appID)
        writer.message(2) { definition.encode(to: &$0) }
        writer.nonEmpty(3, environmentName)
        writer.requests(4, tags)
    }
}

/// `SandboxCreateResponse`.
struct SandboxCreateResponse: ModalResponse {
    var sandboxID = ""

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            if field.number == 1 { sandboxID = try field.string() }
        }
    }
}

/// A request naming one sandbox, with an optional long-poll timeout in seconds: `SandboxTerminateRequest`
/// (no timeout), `SandboxWaitRequest` (0 = poll), `SandboxGetTunnelsRequest`, `SandboxSnapshotFsRequest`.
struct SandboxIDRequest: ModalRequest {
    var sandboxID: String
    var timeout: Float = 0

    func encode(to writer: inout ProtoWriter) {
        writer.string(1, sandboxID)
        if timeout != 0 { writer.float(2, timeout) }
    }
}

/// `SandboxGetTaskIdRequest`.
struct SandboxGetTaskIDRequest: ModalRequest {
    var sandboxID: String
    var timeout: Float

    func encode(to writer: inout ProtoWriter) {
        writer.string(1, sandboxID)
        writer.float(2, timeout)                                 // optional: written when set
    }
}

/// `SandboxGetTaskIdResponse`: the task id once scheduled; `task_result` once it has ended.
struct SandboxGetTaskIDResponse: ModalResponse {
    var taskID: String?
    var taskResult: GenericResult?

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            switch field.number {
            case 1: taskID = try field.string()
            case 2: taskResult = try field.response()
            default: break
            }
        }
    }
}

/// `SandboxWaitResponse`: the result once the sandbox has ended (status 0 while it runs).
struct SandboxWaitResponse: ModalResponse {
    var result = GenericResult()

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            if field.number == 1 { result = try field.response() }
        }
    }
}

/// `SandboxTerminateResponse`.
struct SandboxTerminateResponse: ModalResponse {
    var existingResult: GenericResult?

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            if field.number == 1 { existingResult = try field.response() }
        }
    }
}

/// `SandboxSnapshotFsResponse`.
struct SandboxSnapshotFsResponse: ModalResponse {
    var imageID = ""
    var result = GenericResult()

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            switch field.number {
            case 1: imageID = try field.string()
            case 2: result = try field.response()
            default: break
            }
        }
    }
}

/// `SandboxListRequest`: running sandboxes of an app that carry every given tag, created before a time.
struct SandboxListRequest: ModalRequest {
    var appID: String
    var beforeTimestamp: Double
    var environmentName: String
    var tags: [SandboxTag]

    func encode(to writer: inout ProtoWriter) {
        writer.string(1, appID)
        if beforeTimestamp > 0 { writer.double(2, beforeTimestamp) }
        writer.nonEmpty(3, environmentName)
        writer.requests(5, tags)
    }
}

/// `SandboxInfo`: one listed sandbox.
struct SandboxInfo: ModalResponse {
    var id = ""
    var createdAt: Double = 0
    var tags: [SandboxTag] = []
    var timeoutSecs: UInt32 = 0

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            switch field.number {
            case 1: id = try field.string()
            case 3: createdAt = try field.double()
            case 6: tags.append(try field.response())
            case 11: timeoutSecs = try field.uint32()
            default: break
            }
        }
    }
}

/// `SandboxListResponse`: one page, newest first.
struct SandboxListResponse: ModalResponse {
    var sandboxes: [SandboxInfo] = []

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            if field.number == 1 { sandboxes.append(try field.response()) }
        }
    }
}

/// `TunnelData`: the public address of one container port.
struct TunnelData: ModalResponse, Equatable {
    var host = ""
    var port: UInt32 = 0
    var unencryptedHost: String?
    var unencryptedPort: UInt32?
    var containerPort: UInt32 = 0

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            switch field.number {
            case 1: host = try field.string()
            case 2: port = try field.uint32()
            case 3: unencryptedHost = try field.string()
            case 4: unencryptedPort = try field.uint32()
            case 5: containerPort = try field.uint32()
            default: break
            }
        }
    }
}

/// `SandboxGetTunnelsResponse`.
struct SandboxGetTunnelsResponse: ModalResponse {
    var result = GenericResult()
    var tunnels: [TunnelData] = []

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            switch field.number {
            case 1: result = try field.response()
            case 2: tunnels.append(try field.response())
            default: break
            }
        }
    }
}
