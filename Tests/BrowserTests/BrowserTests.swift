import Foundation
import GatewayAuth
import GatewayCore
import Testing

/// The chat page and the admin console in a real headless Chromium (Debian's `chromium`, driven by
/// Playwright for Python: scripts/install-deps.sh installs both). Each test starts the real
/// `gateway` binary on the shipped gateway.conf (free port, private data folder, development
/// secret) and runs one scenario of browser_scenarios.py against it.
///
/// `UPDATE_SCREENSHOTS=1 swift test --filter BrowserTests` rewrites docs/screenshots/*.png.
@Suite(.serialized) struct BrowserTests {
    @Test func twoUsersExchangeMessagesWithTypingAndReadMarks() throws {
        try BrowserRun(scenario: "chat").expectPass()
    }

    @Test func networkDropAndReconnectLoseNothing() throws {
        let run = try BrowserRun(scenario: "reconnect")
        try run.expectPass()
        #expect(run.log.contains("admin action") && run.log.contains("action=connection.disconnect"),
                "the disconnect is audited in the log")
    }

    @Test func imageUploadShowsItsThumbnail() throws {
        try BrowserRun(scenario: "upload").expectPass()
    }

    @Test func adminTogglesAPluginOffWhileChatPagesStayConnected() throws {
        let run = try BrowserRun(scenario: "admin")
        try run.expectPass()
        for action in ["plugin.disable", "event.test"] {
            #expect(run.log.contains("action=\(action)"), "'\(action)' is audited in the log")
        }
        // Written back as asked: that one value changed, every other line of the file kept.
        let before = run.originalConfig.split(separator: "\n", omittingEmptySubsequences: false)
        let after = try String(contentsOfFile: run.configPath, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let changed = zip(before, after).filter { $0 != $1 }
        #expect(before.count == after.count)
        #expect(changed.count == 1 && changed.first?.0 == "enabled = true" && changed.first?.1 == "enabled = false",
                "changed lines: \(changed)")
    }

    @Test func nonAdminGetsForbidden() throws {
        let run = try BrowserRun(scenario: "forbidden")
        try run.expectPass()
        #expect(!run.log.contains("admin action"), "nothing was done")
    }
}

/// One scenario: a gateway process, then the Python script, then both stopped.
struct BrowserRun {
    let output: String
    let status: Int32
    let log: String
    let configPath: String
    let originalConfig: String
    let scenario: String

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("browser_scenarios.py").path

    init(scenario: String) throws {
        self.scenario = scenario
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-browser-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // The shipped gateway.conf, as a newcomer runs it, on a free port and the build's plugins.
        let shipped = try String(contentsOf: Self.repository.appendingPathComponent("gateway.conf"), encoding: .utf8)
        let listen = #"listen = "127.0.0.1:8080""#
        try #require(shipped.contains(listen))
        originalConfig = "plugin_directory = \"\(Self.productsDirectory)\"\n"
            + shipped.replacingOccurrences(of: listen, with: #"listen = "127.0.0.1:0""#)
        configPath = folder + "/gateway.conf"
        try originalConfig.write(toFile: configPath, atomically: true, encoding: .utf8)

        let gateway = Process()
        gateway.executableURL = URL(fileURLWithPath: Self.productsDirectory + "/gateway")
        gateway.arguments = ["run", "--config", configPath]
        let logPath = folder + "/gateway.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        gateway.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let stdout = Pipe()
        gateway.standardOutput = stdout
        try gateway.run()
        defer {
            if gateway.isRunning {
                gateway.terminate()
                gateway.waitUntilExit()
            }
        }
        let port = try Self.readPort(stdout)

        let secret = Array(GatewayConfig.Auth.developmentSecret.utf8)
        let now = Int(Date().timeIntervalSince1970)
        func token(_ sub: String, _ title: String, admin: Bool = false) -> String {
            TokenMinter.hs256(secret: secret, subject: sub, principals: [], title: title, publish: true,
                              ttlSeconds: 3600, now: now, admin: admin)
        }
        let tokens = ["alice": token("alice", "Alice"), "bob": token("bob", "Bob"), "carol": token("carol", "Carol"),
                      "admin": token("ops", "Operator", admin: true)]
        let screenshots = ProcessInfo.processInfo.environment["UPDATE_SCREENSHOTS"] == "1"
            ? Self.repository.appendingPathComponent("docs/screenshots").path : folder

        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", Self.script, scenario]
        var environment = ProcessInfo.processInfo.environment
        environment["GATEWAY_URL"] = "http://127.0.0.1:\(port)"
        environment["GATEWAY_TOKENS"] = String(decoding: try JSONSerialization.data(withJSONObject: tokens), as: UTF8.self)
        environment["GATEWAY_CONFIG"] = configPath
        environment["SCREENSHOT_DIR"] = screenshots
        python.environment = environment
        let outputPath = folder + "/browser.out"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let outputHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        python.standardOutput = outputHandle
        python.standardError = outputHandle
        try python.run()
        // Bounded: a hung browser fails the test instead of hanging the suite.
        let deadline = Date().addingTimeInterval(300)
        while python.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        if python.isRunning {
            python.terminate()
        }
        python.waitUntilExit()
        status = python.terminationStatus
        output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        gateway.terminate()
        gateway.waitUntilExit()
        log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    func expectPass() throws {
        #expect(status == 0 && output.contains("PASS \(scenario)"),
                "browser scenario '\(scenario)' failed (exit \(status)):\n\(output)\n--- gateway log (tail):\n\(log.suffix(3000))")
    }

    /// The folder of the test binary: `swift build` puts `gateway` and the plugins there.
    static var productsDirectory: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }

    private static func readPort(_ pipe: Pipe) throws -> Int {
        var seen = ""
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
            if let line = seen.split(separator: "\n").first(where: { $0.hasPrefix("gateway listening on ") }),
               let port = line.split(separator: ":").last.flatMap({ Int($0) }) {
                return port
            }
        }
        throw BrowserTestFailure("the gateway did not report its port; output: \(seen)")
    }
}

struct BrowserTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
