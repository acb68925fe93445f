import FoundationEssentials
import Glibc
import Basics
import Core
import PluginProtocol

/// `sandboxer __plugin-ipc-bench PLUGIN.so STATE_DIR [CALLS]` (hidden; bench/plugin-ipc.sh): times a
/// no-op call (`describe`) on one backend in process and one in a plugin runner, interleaved in
/// rounds in one process, and prints the median µs per call of each and the difference.
public enum PluginIPCBench {
    public static let subcommand = "__plugin-ipc-bench"

    public static func main(_ arguments: [String]) -> Int32 {
        guard arguments.count >= 2, let calls = arguments.count > 2 ? Int(arguments[2]) : 2000, calls > 0 else {
            FileIO.writeAll(2, Data("usage: sandboxer \(subcommand) PLUGIN.so STATE_DIR [CALLS]\n".utf8))
            return 2
        }
        let context = PluginHostContext(now: { Date() }, secret: { _ in nil }, logLine: { _ in })
        let config = JSONValue.object(["state_dir": .string(arguments[1])])
        let inProcess: Backend, isolated: Backend
        do throws(PluginLoadError) {
            inProcess = try PluginLoader.load(path: arguments[0], context: context, backend: "in_process")
                .makeBackend(name: "in_process", config: config, callTimeout: 60)
            isolated = try Backend.isolated(name: "process", path: arguments[0], config: config, callTimeout: 60,
                                            deadlines: BackendDeadlines(), maxResponseBytes: PluginLimits.defaultResponseBytes,
                                            context: context, runner: PluginRunnerSettings())
        } catch {
            FileIO.writeAll(2, Data("sandboxer: \(error.message)\n".utf8))
            return 1
        }
        defer { isolated.stopRunner() }
        // Rounds of `batch` calls, alternating: both sides see the same machine load.
        let batch = 100, rounds = max(1, calls / batch)
        var a: [Double] = [], b: [Double] = []
        for _ in 0..<3 { _ = time(inProcess, batch); _ = time(isolated, batch) }  // warm-up
        for _ in 0..<rounds {
            guard let x = time(inProcess, batch), let y = time(isolated, batch) else {
                FileIO.writeAll(2, Data("sandboxer: a describe call failed\n".utf8))
                return 1
            }
            a.append(x)
            b.append(y)
        }
        let inMedian = median(a), outMedian = median(b)
        print(String(cFormat: "in_process_us=%.1f process_us=%.1f added_us=%.1f calls=%ld", inMedian, outMedian, outMedian - inMedian, rounds * batch))
        return 0
    }

    /// Mean µs per call over `count` describe calls with a deadline (as the host makes them), nil on failure.
    static func time(_ backend: Backend, _ count: Int) -> Double? {
        let start = RunnerClock.monotonicSeconds()
        for _ in 0..<count {
            guard (try? backend.describe(timeout: 60)) != nil else { return nil }
        }
        return (RunnerClock.monotonicSeconds() - start) * 1e6 / Double(count)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
    }
}
