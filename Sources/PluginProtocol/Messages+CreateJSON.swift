import FoundationEssentials

// The `create` request written and read without `Codable`, as its answer is
// (Messages+LifecycleJSON.swift): the host encoded it and every Swift plugin decoded it with a
// type's first trip through `Codable` in a one-shot process (perf of `sandboxer create`: 4.5% of its
// samples, docs/performance.md "The CLI process (session 8)"). Same bytes as `JSONEncoder` with
// `.sortedKeys` (CreateJSONTests compares them), read as `JSONDecoder` reads them.

extension CreateRequest {
    /// The request as JSON (`JSONEncoder`'s bytes with sorted keys); nil when a number in it has no
    /// JSON form (an infinite or NaN `cpus`), which `JSONEncoder` refuses too.
    public var jsonData: Data? {
        var w = JSONObjectWriter(capacity: 512)
        w.stringMap("env", env)
        w.string("host_id", hostId)
        w.int("idle_timeout_seconds", idleTimeoutSeconds)
        w.string("image", image)
        if let artifact = imageArtifact { w.object("image_artifact") { artifact.write(&$0) } }
        w.stringMap("labels", labels)
        w.int("latest_deadline_seconds", latestDeadlineSeconds)
        w.string("network", network)
        if let options = networkOptions { w.object("network_options") { options.write(&$0) } }
        if let placement { w.stringMap("placement", placement) }
        w.string("profile", profile)
        w.object("resources") { resources.write(&$0) }
        w.string("sandbox_id", sandboxId)
        w.int("timeout_seconds", timeoutSeconds)
        let data = w.finish()
        return w.isFinite ? data : nil
    }

    /// Reads the request as `JSONDecoder` would. `JSONReader` keeps every number as a `Double`, exact
    /// only up to 2^53: a request that may hold a wider integer (a run of 16 or more digits, such as
    /// `memory_bytes` of 16P) is read by `JSONDecoder` itself, so every value stays exact.
    public init(json: Data) throws(JSONFieldError) {
        if let exact = try JSONObjectFields.decodedIfWide(CreateRequest.self, json) { self = exact; return }
        let f = try JSONObjectFields(json)
        self.init(sandboxId: try f.string("sandbox_id"), hostId: try f.string("host_id"), profile: try f.string("profile"),
                  image: try f.optionalString("image"), resources: try ResourceLimits(fields: f.fields("resources")),
                  network: try f.string("network"), env: try f.stringMap("env"), labels: try f.stringMap("labels"),
                  timeoutSeconds: try f.optionalInt("timeout_seconds", as: Int64.self),
                  latestDeadlineSeconds: try f.optionalInt("latest_deadline_seconds", as: Int64.self),
                  idleTimeoutSeconds: try f.optionalInt("idle_timeout_seconds", as: Int64.self),
                  networkOptions: try f.optionalFields("network_options").map { (o) throws(JSONFieldError) in try CreateNetworkOptions(fields: o) },
                  imageArtifact: try f.optionalFields("image_artifact").map { (o) throws(JSONFieldError) in try BuildArtifact(fields: o) },
                  placement: try f.optionalStringMap("placement"))
    }
}

extension ResourceLimits {
    func write(_ w: inout JSONObjectWriter) {
        w.double("cpus", cpus)
        w.int("disk_bytes", diskBytes)
        w.int("memory_bytes", memoryBytes)
        w.int("pids", pids.map(Int64.init))
    }

    init(fields f: JSONObjectFields) throws(JSONFieldError) {
        self.init(cpus: try f.optionalDouble("cpus"), memoryBytes: try f.optionalInt("memory_bytes", as: Int64.self),
                  pids: try f.optionalInt("pids", as: Int.self), diskBytes: try f.optionalInt("disk_bytes", as: Int64.self))
    }
}

extension CreateNetworkOptions {
    func write(_ w: inout JSONObjectWriter) {
        w.bool("allow_sandboxes", allowSandboxes)
        w.string("egress", egress)
        if let publish {
            w.objects("publish", publish) { w, p in
                w.string("host_address", p.hostAddress)
                w.int("host_port", p.hostPort.map(Int64.init))
                w.int("target_port", Int64(p.targetPort))
            }
        }
    }

    init(fields f: JSONObjectFields) throws(JSONFieldError) {
        var publish: [Publish]? = nil
        if let items = try f.optionalFieldsArray("publish") {
            var out: [Publish] = []
            out.reserveCapacity(items.count)
            for p in items {
                out.append(Publish(targetPort: try p.int("target_port", as: Int.self), hostPort: try p.optionalInt("host_port", as: Int.self),
                                   hostAddress: try p.optionalString("host_address")))
            }
            publish = out
        }
        self.init(egress: try f.optionalString("egress"), allowSandboxes: try f.optionalBool("allow_sandboxes"), publish: publish)
    }
}

extension BuildArtifact {
    func write(_ w: inout JSONObjectWriter) {
        w.string("digest", digest)
        w.string("kind", kind)
        w.string("path", path)
        w.int("size_bytes", sizeBytes)
    }

    init(fields f: JSONObjectFields) throws(JSONFieldError) {
        self.init(kind: try f.string("kind"), path: try f.string("path"), digest: try f.string("digest"),
                  sizeBytes: try f.int("size_bytes", as: Int64.self))
    }
}
