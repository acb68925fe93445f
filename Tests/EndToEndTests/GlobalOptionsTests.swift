import Foundation
import Testing

/// Global options (`--config`, `--json`, `--verbose`) work before or after the command, as the README
/// and configuration.md write them.
@Suite struct GlobalOptionsTests {
    func runner() throws -> (CLIRunner, String) {
        var cli = try CLIRunner.onFakeBackend(profiles: """
              special:
                backend: fake
                ttl: {default: 1h, max: 4h}
            """)
        let path = try #require(cli.environment["SANDBOXER_CONFIG"])
        cli.environment.removeValue(forKey: "SANDBOXER_CONFIG")
        return (cli, path)
    }

    @Test func configBeforeOrAfterTheCommandIsTheSame() throws {
        let (cli, path) = try runner()
        for args in [["--config", path, "profiles", "--json"], ["--config=\(path)", "--json", "profiles"],
                     ["profiles", "--config", path, "--json"], ["--json", "profiles", "--config", path]] {
            let r = try cli.run(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            #expect(r.stdout.contains("\"special\""), "\(args): the profile of the named config file")
        }
        // Without --config the embedded default has no profile named special.
        #expect(try !cli.run(["profiles", "--json"]).stdout.contains("\"special\""))
    }

    @Test func createWithConfigFirstMakesARow() throws {
        let (cli, path) = try runner()
        let created = try cli.run(["--config", path, "create", "--profile", "special"])
        #expect(created.status == 0, "\(created.stderr)")
        let list = try cli.run(["--config", path, "--json", "list"])
        #expect(list.status == 0)
        #expect(list.stdout.contains(created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test func badLeadingOptionsAreUsageErrors() throws {
        let (cli, path) = try runner()
        for args in [["--bogus", "list"], ["--config"], ["--config", path]] {
            let r = try cli.run(args)
            #expect(r.status == 2, "\(args)")
            #expect(r.stderr.hasPrefix("sandboxer: "), "\(args): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
    }

    @Test func everyCommandDocumentsTheGlobalOptions() throws {
        let (cli, _) = try runner()
        for command in ["create", "list", "show", "exec", "serve", "version", "token-hash"] {
            let r = try cli.run([command, "--help"])
            #expect(r.status == 0)
            for option in ["--config FILE", "--json", "--verbose", "--help"] {
                #expect(r.stdout.contains(option), "\(command) --help lists \(option)")
            }
        }
    }
}

/// `SANDBOXER_CLOCK_OFFSET` is a debugging aid for one-shot commands; `serve` refuses it.
@Suite struct ClockOffsetTests {
    @Test func serveRefusesAShiftedClock() throws {
        let cli = try CLIRunner()
        let r = try cli.run(["serve", "--listen", "127.0.0.1:0"], extraEnv: ["SANDBOXER_CLOCK_OFFSET": "1h"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("SANDBOXER_CLOCK_OFFSET"))
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }
}
