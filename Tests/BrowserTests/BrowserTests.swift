import Foundation
#if canImport(Glibc)
import Glibc
#endif
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
        let run = try BrowserRun(scenario: "admin", smtp: true)
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

    @Test func roomConversationWithUnreadTypingAndAClosedMember() throws {
        try BrowserRun(scenario: "rooms").expectPass()
    }

    @Test func adminSendsATestMessageThroughTheSMTPMessenger() throws {
        let run = try BrowserRun(scenario: "messenger", smtp: true)
        try run.expectPass()
        for outcome in ["sent", "refused"] {
            #expect(run.log.contains("admin action") && run.log.contains("action=messenger.test")
                        && run.log.contains("outcome=\(outcome)"),
                    "the \(outcome) test message is audited in the log")
        }
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

    /// `smtp`: run aiosmtpd (a real SMTP server process, from PyPI) and enable the shipped
    /// gateway.conf's smtp messenger against it, in clear (a loopback test server).
    init(scenario: String, smtp: Bool = false) throws {
        self.scenario = scenario
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-browser-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // The shipped gateway.conf, as a newcomer runs it, on a free port and the build's plugins.
        let shipped = try String(contentsOf: Self.repository.appendingPathComponent("gateway.conf"), encoding: .utf8)
        let listen = #"listen = "127.0.0.1:8080""#
        try #require(shipped.contains(listen))
        var config = shipped.replacingOccurrences(of: listen, with: #"listen = "127.0.0.1:0""#)
        var smtpServer: Process?
        defer { if let smtpServer { Self.stop(smtpServer) } }
        let maildir = folder + "/maildir"
        if smtp {
            let port = try Self.freePort()
            smtpServer = try Self.startSMTPServer(port: port, maildir: maildir)
            for (shippedLine, testLine) in [
                ("enabled = false                   # true: mail through your SMTP server", "enabled = true"),
                (#"url = "smtp://127.0.0.1:587""#, #"url = "smtp://127.0.0.1:\#(port)""#),
                (#"starttls = "required""#, #"starttls = "off""#),
            ] {
                try #require(config.contains(shippedLine), "gateway.conf's smtp block changed: update BrowserRun")
                config = config.replacingOccurrences(of: shippedLine, with: testLine)
            }
        }
        originalConfig = "plugin_directory = \"\(Self.productsDirectory)\"\n" + config
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
        if smtp { environment["SMTP_MAILDIR"] = maildir }
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

    /// aiosmtpd delivering every mail into `maildir`; returns once it accepts connections.
    private static func startSMTPServer(port: Int, maildir: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:\(port)", "-c", "aiosmtpd.handlers.Mailbox", maildir]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)  // Python starts slowly on a busy machine
        while Date() < deadline && process.isRunning {
            if canConnect(port: port) { return process }
            Thread.sleep(forTimeInterval: 0.1)
        }
        process.terminate()
        throw BrowserTestFailure("aiosmtpd did not start on port \(port) (scripts/install-deps.sh installs it)")
    }

    /// SIGTERM, then SIGKILL if it is still there after a few seconds (never waits unbounded).
    private static func stop(_ process: Process) {
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    private static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw BrowserTestFailure("socket() failed") }
        defer { close(socket) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
            }
        }
        guard bound else { throw BrowserTestFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func canConnect(port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
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
