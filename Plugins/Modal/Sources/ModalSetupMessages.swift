import ProtobufWire

// What precedes a sandbox: environment, app, image (ModalClient service).

/// `ObjectCreationType.OBJECT_CREATION_TYPE_CREATE_IF_MISSING`.
let createIfMissing: Int32 = 1

/// `EnvironmentGetOrCreateRequest`: the official client calls it before any image call.
struct EnvironmentGetOrCreateRequest: ModalRequest {
    var name: String

    func encode(to writer: inout ProtoWriter) {
        writer.nonEmpty(1, name)                     // deployment_name
    }
}

/// `EnvironmentGetOrCreateResponse`: only `metadata.settings.image_builder_version` is used.
struct EnvironmentGetOrCreateResponse: ModalResponse {
    var environmentID = ""
    var imageBuilderVersion = ""

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            switch field.number {
            case 1: environmentID = try field.string()
            case 2:                                  // metadata: EnvironmentMetadata
                var metadata = try field.message()
                while let inner = try metadata.next() {
                    guard inner.number == 2 else { continue }   // settings: EnvironmentSettings
                    var settings = try inner.message()
                    while let setting = try settings.next() {
                        if setting.number == 1 { imageBuilderVersion = try setting.string() }
                    }
                }
            default: break
            }
        }
    }
}

/// `AppGetOrCreateRequest`, created if missing.
struct AppGetOrCreateRequest: ModalRequest {
    var appName: String
    var environmentName: String

    func encode(to writer: inout ProtoWriter) {
        writer.string(1, appName)
        writer.nonEmpty(2, environmentName)
        writer.int32(3, createIfMissing)
    }
}

/// `AppGetOrCreateResponse`.
struct AppGetOrCreateResponse: ModalResponse {
    var appID = ""

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            if field.number == 1 { appID = try field.string() }
        }
    }
}

/// `ImageGetOrCreateRequest` for an image from a registry tag: `Image{dockerfile_commands: ["FROM <tag>"]}`.
struct ImageGetOrCreateRequest: ModalRequest {
    var dockerfileCommands: [String]
    var appID: String
    var builderVersion: String

    func encode(to writer: inout ProtoWriter) {
        writer.message(2) { image in image.strings(6, dockerfileCommands) }   // image: Image
        writer.nonEmpty(4, appID)
        writer.nonEmpty(9, builderVersion)
    }
}

/// `ImageGetOrCreateResponse`: the image id, and a final result when it is already built.
struct ImageGetOrCreateResponse: ModalResponse {
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

/// `ImageJoinStreamingRequest`: follow a build until its result.
struct ImageJoinStreamingRequest: ModalRequest {
    var imageID: String
    var timeout: Float
    var lastEntryID: String

    func encode(to writer: inout ProtoWriter) {
        writer.string(1, imageID)
        if timeout != 0 { writer.float(2, timeout) }
        writer.nonEmpty(3, lastEntryID)
    }
}

/// `ImageJoinStreamingResponse`: logs (skipped), then a result; `eof` ends the build's stream.
struct ImageJoinStreamingResponse: ModalResponse {
    var result = GenericResult()
    var entryID = ""
    var eof = false

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            switch field.number {
            case 1: result = try field.response()
            case 3: entryID = try field.string()
            case 4: eof = try field.bool()
            default: break
            }
        }
    }
}

/// `TaskGetCommandRouterAccessRequest` (V1): the router URL and bearer JWT for a task.
struct TaskGetCommandRouterAccessRequest: ModalRequest {
    var taskID: String

    func encode(to writer: inout ProtoWriter) { writer.string(1, taskID) }
}

/// `TaskGetCommandRouterAccessResponse`.
struct CommandRouterAccess: ModalResponse {
    var jwt = ""
    var url = ""

    init(jwt: String, url: String) { self.jwt = jwt; self.url = url }

    init(from reader: inout ProtoReader) throws(ProtobufWireError) {
        while let field = try reader.next() {
            switch field.number {
            case 1: jwt = try field.string()
            case 2: url = try field.string()
            default: break
            }
        }
    }
}
