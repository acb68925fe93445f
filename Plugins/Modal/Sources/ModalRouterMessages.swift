import ProtobufWire

// The task command router service (`/modal.task_command_router.TaskCommandRouter/…`): exec inside a
// running task, reached at the URL and with the JWT that `TaskGetCommandRouterAccess` hands out.

/// `TaskExecStdoutConfig.PIPE` / `TaskExecStderrConfig.PIPE`.
let execOutputPipe: Int32 = 1

/// `TaskExecStartRequest`. Starting is idempotent per `exec_id`, so a retried start is safe.
struct TaskExecStartRequest: ModalRequest {
    var taskID: String
    var execID: String
    var commandArgs: [String]
    var timeoutSecs: UInt32?
    var env: [String: String]

    func encode(to writer: inout ProtoWriter) {
        writer.string(1, taskID)
        writer.string(2, execID)
        writer.strings(3, commandArgs)
        writer.int32(4, execOutputPipe)                   // stdout_config
        writer.int32(5, execOutputPipe)                   // stderr_config
        if let timeoutSecs { writer.uint32(6, timeoutSecs) }
        writer.stringMap(12, env)                         // env: map<string,string>
    }
}

/// `TaskExecStdioReadRequest`: one output stream from a byte offset to its end.
struct TaskExecStdioReadRequest: ModalRequest {
    /// `TaskExecStdioFileDescriptor`: 0 stdout, 1 stderr.
    enum Descriptor: Int32, Sendable { case stdout = 0, stderr = 1 }

    var taskID: String
    var execID: String
    var offset: UInt64
    var descriptor: Descriptor

    func encode(to writer: inout ProtoWriter) {
        writer.string(1, taskID)
        writer.string(2, execID)
        if offset > 0 { writer.uint64(3, offset) }
        if descriptor != .stdout { writer.int32(4, descriptor.rawValue) }
    }
}

/// `TaskExecStdioReadResponse`: a chunk of output.
struct TaskExecStdioReadResponse: ModalResponse {
    var data: [UInt8] = []

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            if field.number == 1 { data = try field.bytes() }
        }
    }
}

/// `TaskExecStdinWriteRequest`: offset-addressed, so a retried write skips what already arrived.
struct TaskExecStdinWriteRequest: ModalRequest {
    var taskID: String
    var execID: String
    var offset: UInt64
    var data: ArraySlice<UInt8>
    var eof: Bool

    func encode(to writer: inout ProtoWriter) {
        writer.string(1, taskID)
        writer.string(2, execID)
        if offset > 0 { writer.uint64(3, offset) }
        if !data.isEmpty { writer.bytes(4, data) }
        if eof { writer.bool(5, true) }
    }
}

/// `TaskExecWaitRequest` (also the shape of `TaskExecPollRequest`).
struct TaskExecWaitRequest: ModalRequest {
    var taskID: String
    var execID: String

    func encode(to writer: inout ProtoWriter) {
        writer.string(1, taskID)
        writer.string(2, execID)
    }
}

/// `TaskExecWaitResponse`: oneof exit code or signal.
struct TaskExecWaitResponse: ModalResponse {
    var code: Int32?
    var signal: Int32?

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            switch field.number {
            case 1: code = try field.int32(); signal = nil
            case 2: signal = try field.int32(); code = nil
            default: break
            }
        }
    }
}
