import CLocalVM
import FoundationEssentials
import Glibc
import PluginKit

/// Swift face of the C launcher and exec helper. Strings and fds are prepared here; everything
/// between fork and exec happens in CLocalVM.
enum Launcher {
    /// The veth pair of a bridged sandbox, as the launcher builds it (addresses in host order).
    struct Bridge {
        var hostLink: String
        var alias: String
        var hostAddress: UInt32
        var sandboxAddress: UInt32
        var prefixLength: UInt8
        /// A route inside via the host end (host order), or nil: 0.0.0.0/0 for egress nat, the
        /// pool for peers.
        var route: IPv4Prefix?
        /// IPv4 forwarding on the host end (egress nat or peers).
        var forwarding: Bool
    }

    /// Starts a sandbox init (with its veth pair when `bridge` is given); returns its host pid and
    /// the identity of its control tmpfs (CLocalVM/ctl.c), which holds `deadline` (none when nil).
    /// `idmapUserns`: a user namespace whose maps are `idmap` (IdmapNamespaces), or nil to make one.
    /// `cgroupFast`: `cgroupFds` come from `CgroupLayout.openExecTargets` (see `clvm_launch_spec.cgroup_fast`),
    /// else from `openProcs`. `mountDir`: the shared mount points (MountPoints).
    static func launch(sandboxDir: String, lowerDir: String, hostname: String, idMap: String,
                       cgroupFds: [Int32], bridge: Bridge? = nil, layerDir: String? = nil,
                       idmap: String? = nil, idmapUserns: Int32? = nil, cgroupFast: Bool = false,
                       mountDir: String, deadline: String?) throws(PluginError) -> (pid: Int32, ctl: clvm_ctl_id) {
        var pid: pid_t = 0
        var ctl = clvm_ctl_id()
        var err = [CChar](repeating: 0, count: 512)
        let program = InitProgram.resolve()
        let initFd = program.fd ?? -1
        let rc = withCStringArray(program.argv) { argv in
            withCStringArray(InitProgram.env) { envp in
                cgroupFds.withUnsafeBufferPointer { fds in
                    sandboxDir.withCString { dir in
                        lowerDir.withCString { lower in
                            hostname.withCString { host in
                                idMap.withCString { map in
                                    withNetSpec(bridge) { net in
                                        (layerDir ?? "").withCString { layer in
                                            withOptionalCString(idmap) { idmapLine in
                                                withOptionalCString(deadline) { deadlineText in
                                                    mountDir.withCString { mounts in
                                                        var spec = clvm_launch_spec(
                                                            sandbox_dir: dir, lower_dir: lower, hostname: host, id_map: map,
                                                            cgroup_fds: fds.baseAddress, cgroup_count: fds.count, argv: argv,
                                                            envp: envp, net: net, layer_dir: layer, idmap: idmapLine, init_fd: nil,
                                                            idmap_userns: nil, cgroup_fast: cgroupFast ? 1 : 0,
                                                            mount_dir: mounts, ctl_out: nil, ctl_deadline: deadlineText)
                                                        return withUnsafeMutablePointer(to: &ctl) { ctlOut in
                                                            withUnsafePointer(to: initFd) { fd in
                                                                withUnsafePointer(to: idmapUserns ?? -1) { userns in
                                                                    spec.ctl_out = ctlOut
                                                                    if program.fd != nil { spec.init_fd = fd }
                                                                    if idmapUserns != nil { spec.idmap_userns = userns }
                                                                    return clvm_launch(&spec, &pid, &err, err.count)
                                                                }
                                                            }
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        guard rc == 0 else {
            let message = Launcher.text(err)
            // The one failure an operator can fix by config: a kernel without idmapped overlay layers.
            let hint = message.contains("idmapped") ? " This kernel may lack idmapped overlay layers (Linux 5.19+); set the localvm config 'uid_pool_slices' to 0 to run every sandbox in uid_base's range." : ""
            throw PluginError(.internal, "Starting the sandbox init failed: \(message).\(hint)")
        }
        return (pid, ctl)
    }

    /// What one exec produced.
    struct ExecOutcome {
        var exitCode: Int32
        var timedOut: Bool
        var execErrno: Int32
        var stdout: Data
        var stderr: Data
    }

    /// Largest output kept per stream.
    static let maxOutput = 64 << 20

    /// Runs argv inside the sandbox of `initPidfd`; `cgroupFds` come from `CgroupLayout.openExecTargets`.
    static func exec(initPidfd: Int32, cgroupFds: [Int32], argv: [String], env: [String], stdin: Data?,
                     timeoutMs: Int64?, maxOutput: Int = Launcher.maxOutput) throws(PluginError) -> ExecOutcome {
        var result = clvm_exec_result()
        var err = [CChar](repeating: 0, count: 512)
        let input = stdin ?? Data()
        let rc = withCStringArray(argv) { argvp in
            withCStringArray(env) { envp in
                cgroupFds.withUnsafeBufferPointer { fds in
                    input.withUnsafeBytes { raw in
                        var spec = clvm_exec_spec(
                            init_pidfd: initPidfd, cgroup_fds: fds.baseAddress, cgroup_count: fds.count,
                            argv: argvp, envp: envp,
                            stdin_data: raw.bindMemory(to: UInt8.self).baseAddress, stdin_len: raw.count,
                            has_stdin: stdin == nil ? 0 : 1, timeout_ms: timeoutMs ?? -1, max_output: maxOutput,
                            command_only_cgroups: CgroupLayout.commandOnlyCgroups, cgroup_fast: 1, helper_fd: InitProgram.execHelperFd)
                        return clvm_exec(&spec, &result, &err, err.count)
                    }
                }
            }
        }
        guard rc == 0 else {
            throw PluginError(.internal, "Entering the sandbox failed: \(Launcher.text(err)).")
        }
        defer { clvm_exec_result_free(&result) }
        let out = result.out.map { Data(bytes: $0, count: result.out_len) } ?? Data()
        let errData = result.err.map { Data(bytes: $0, count: result.err_len) } ?? Data()
        return ExecOutcome(exitCode: result.exit_code, timedOut: result.timed_out != 0, execErrno: result.exec_errno,
                           stdout: out, stderr: errData)
    }

    /// Calls body with the C form of a bridge (NULL for none), valid for the call.
    static func withNetSpec<R>(_ bridge: Bridge?, _ body: (UnsafePointer<clvm_net_spec>?) -> R) -> R {
        guard let bridge else { return body(nil) }
        return bridge.hostLink.withCString { link in
            bridge.alias.withCString { alias in
                var net = clvm_net_spec(host_link: link, link_alias: alias, host_addr: bridge.hostAddress.bigEndian,
                                        sandbox_addr: bridge.sandboxAddress.bigEndian, prefix_len: bridge.prefixLength,
                                        has_route: bridge.route == nil ? 0 : 1, route_dst: (bridge.route?.base ?? 0).bigEndian,
                                        route_len: UInt8(bridge.route?.length ?? 0), forwarding: bridge.forwarding ? 1 : 0)
                return body(&net)
            }
        }
    }

    /// Calls body with the C form of `s`, or NULL for nil.
    static func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let s else { return body(nil) }
        return s.withCString { body($0) }
    }

    /// Calls body with a NULL-terminated array of C strings that lives for the call.
    static func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

extension Launcher {
    /// The NUL-terminated message the C launcher wrote into `buffer`, decoded as UTF-8.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
