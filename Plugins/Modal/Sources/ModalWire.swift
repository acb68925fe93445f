import ProtobufWire

// Modal's messages are written by hand against ProtobufWire, only the fields this plugin uses, with
// field numbers from `modal_proto/api_pb2.py` and `task_command_router_pb2.py` of the `modal` 1.6.4
// wheel (shared/contracts/modal/modal_messages.txt). Unknown fields in answers are skipped.

/// A request message: writes the fields that are set (proto3 leaves out zero values).
protocol ModalRequest: Sendable {
    func encode(to writer: inout ProtoWriter)
}

/// A response message: reads the fields it knows, ignoring the rest.
protocol ModalResponse: Sendable {
    init(from reader: inout ProtoReader) throws(ProtobufWireError)
}

extension ModalRequest {
    /// The message's wire bytes.
    var bytes: [UInt8] {
        var writer = ProtoWriter()
        encode(to: &writer)
        return writer.bytes
    }
}

/// An answer whose fields the plugin does not read (`TaskExecStartResponse`, `google.protobuf.Empty`).
struct IgnoredResponse: ModalResponse {
    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while try reader.next() != nil {}
    }
}

/// `GenericResult`: how a sandbox, image build or snapshot ended.
struct GenericResult: ModalResponse, Equatable {
    /// `GenericResult.GenericStatus`; 0 (unspecified) means it has not ended.
    var status: Int32 = 0
    var exception = ""
    var exitcode: Int32 = 0

    static let success: Int32 = 1
    static let failure: Int32 = 2
    static let terminated: Int32 = 3
    static let timeout: Int32 = 4
    static let initFailure: Int32 = 5
    static let internalFailure: Int32 = 6
    static let idleTimeout: Int32 = 7

    init() {}

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            switch field.number {
            case 1: status = try field.int32()
            case 2: exception = try field.string()
            case 3: exitcode = try field.int32()
            default: break
            }
        }
    }

    /// Whether this result says the thing has ended (any status but unspecified).
    var isFinal: Bool { status != 0 }

    /// The status as a lower-case word for `info` and messages.
    var statusName: String {
        switch status {
        case 0: "running"
        case Self.success: "success"
        case Self.failure: "failure"
        case Self.terminated: "terminated"
        case Self.timeout: "timeout"
        case Self.initFailure: "init_failure"
        case Self.internalFailure: "internal_failure"
        case Self.idleTimeout: "idle_timeout"
        case 8, 9: "evicted"
        case 10: "oom_killed"
        default: "status_\(status)"
        }
    }
}

/// `SandboxTag`: one tag (the plugin's ownership labels travel as tags).
struct SandboxTag: ModalRequest, ModalResponse, Equatable {
    var name = ""
    var value = ""

    init(name: String, value: String) { self.name = name; self.value = value }

    func encode(to writer: inout ProtoWriter) {
        writer.string(1, name)
        writer.string(2, value)
    }

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            switch field.number {
            case 1: name = try field.string()
            case 2: value = try field.string()
            default: break
            }
        }
    }

    /// Tags for a label set, in key order so equal labels give equal bytes.
    static func from(_ labels: [String: String]) -> [SandboxTag] {
        labels.keys.sorted().map { SandboxTag(name: $0, value: labels[$0] ?? "") }
    }
}

extension ProtoWriter {
    /// A `string` field, left out when empty (proto3's default).
    mutating func nonEmpty(_ field: Int, _ value: String) {
        if !value.isEmpty { string(field, value) }
    }

    /// Repeated messages of a `ModalRequest` type.
    mutating func requests<M: ModalRequest>(_ field: Int, _ values: [M]) {
        for value in values { message(field) { value.encode(to: &$0) } }
    }
}

extension ProtoField {
    /// A nested message decoded as a `ModalResponse`.
    func response<M: ModalResponse>(as type: M.Type = M.self) throws(ProtobufWireError) -> M {
        var reader = try message()
        return try M(from: &reader)
    }
}
