// `gateway plugin inspect` and `gateway check`, run as the real executable built next to the tests.
import Foundation
import GatewayCore
import Testing

@Suite struct CommandLineTests {
    struct Run { let status: Int32; let stdout: String; let stderr: String }

    private func gateway(_ arguments: [String]) throws -> Run {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("gateway").path
        try #require(FileManager.default.isExecutableFile(atPath: executable),
                     "the gateway executable is not built next to the tests: \(executable)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Drain stderr on another thread while reading stdout, so a chatty child never blocks
        // on a full pipe.
        let stderrReading = err.fileHandleForReading
        let stderrData = DispatchQueue.global().asyncResult { stderrReading.readDataToEndOfFile() }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = stderrData.wait()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    private func writeConfig(_ text: String) throws -> String {
        let path = try Fixtures.directory() + "/check-\(UUID().uuidString).conf"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func inspectPrintsTheDescriptor() throws {
        let run = try gateway(["plugin", "inspect", try Fixtures.path("libgood.so")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("name:            fixture-good"))
        #expect(run.stdout.contains("abi:             1.4"))
        #expect(run.stdout.contains("capabilities:    category_targets, recipient_filter, attachment_validation, thumbnail"))
        #expect(run.stdout.contains("categories:      news, chat"))
        #expect(run.stdout.contains("build signature: fixture built by PluginHostTests"))
    }

    @Test func inspectExplainsARefusal() throws {
        let path = try Fixtures.path("libbad-major.so")
        let run = try gateway(["plugin", "inspect", path])
        #expect(run.status != 0)
        #expect(run.stderr.contains("plugin.abi_major_mismatch"))
        #expect(run.stderr.contains(path))
    }

    @Test func checkLoadsEveryEnabledPlugin() throws {
        let config = try writeConfig("""
            plugin_directory = "\(try Fixtures.directory())"

            [[plugins]]
            name = "news"
            library = "libgood.so"
            config = { tag = "news", principals = ["alice"] }

            [[plugins]]
            name = "disabled"
            library = "libno-entry.so"
            enabled = false
            """)
        let run = try gateway(["check", "--config", config])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("OK, 1 plugin(s) enabled"))
        #expect(run.stdout.contains("news: fixture-good 1.2.3"))
        // create() and destroy() both ran (their log lines go to stderr).
        #expect(run.stderr.contains("created news") && run.stderr.contains("destroyed news"))
    }

    @Test func checkPrintsEveryPluginError() throws {
        let config = try writeConfig("""
            plugin_directory = "\(try Fixtures.directory())"

            [[plugins]]
            name = "picky"
            library = "libgood.so"
            config = { fail = "needs a token" }

            [[plugins]]
            name = "old"
            library = "libbad-major.so"

            [[plugins]]
            name = "gone"
            library = "libmissing.so"
            """)
        let run = try gateway(["check", "--config", config])
        #expect(run.status != 0)
        for expected in ["plugin.create_failed", "needs a token", "plugin.abi_major_mismatch", "plugin.file_missing", "3 plugin error(s)"] {
            #expect(run.stderr.contains(expected), "missing \(expected) in: \(run.stderr)")
        }
    }

    @Test func checkReportsConfigErrors() throws {
        let config = try writeConfig("bogus = 1\n")
        let run = try gateway(["check", "--config", config])
        #expect(run.status != 0)
        #expect(run.stderr.contains("config.unknown_key"))
        #expect(run.stderr.contains("no plugin was loaded"))
    }

    /// `gateway messenger test ALIAS ADDRESS`: console-audit as a messenger prints the test
    /// delivery; an alias that is not configured, or not a messenger, is refused.
    @Test func messengerTestSendsThroughTheConfiguredMessenger() throws {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let output = try Fixtures.directory() + "/audit-\(UUID().uuidString).log"
        let config = try writeConfig("""
            plugin_directory = "\(products)"
            [[plugins]]
            name = "audit"
            library = "libConsoleAudit.so"
            [plugins.config]
            output = "\(output)"
            [[plugins]]
            name = "targets"
            library = "libCategoryTargets.so"
            """)
        let sent = try gateway(["messenger", "test", "audit", "bob@example.org", "--config", config])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(sent.stdout.contains("sent: test message to bob@example.org through 'audit'"))
        let printed = try String(contentsOfFile: output, encoding: .utf8)
        #expect(printed.contains("console-audit send to=bob@example.org attempt=1"))
        #expect(printed.contains("category=gateway.test"))

        let unknown = try gateway(["messenger", "test", "fax", "x", "--config", config])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("messenger.unknown"))
        let notMessenger = try gateway(["messenger", "test", "targets", "x", "--config", config])
        #expect(notMessenger.status == 1)
        #expect(notMessenger.stderr.contains("messenger.not_a_messenger"))
    }
}
