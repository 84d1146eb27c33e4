// Durability: the gateway PROCESS is stopped between scheduling and firing, and started again on
// the same files. What was held or owed is still delivered, once.
import Foundation
import GatewayChatClient
import GatewayJSON
import Testing

@Suite struct OfflineRestartTests {
    @Test func heldEventsAndPendingMailSurviveARestartWithoutDuplicates() async throws {
        let products = TestGateway.productsDirectory
        let binary = products + "/gateway"
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the gateway first: swift build")
        let folder = try temporaryFolder("offline-restart")
        let smtp = try await offThread { try SMTPServerProcess(folder: folder) }
        defer { smtp.stop() }
        let configPath = folder + "/gateway.conf"
        try """
        plugin_directory = "\(products)"
        [server]
        listen = "127.0.0.1:0"
        [auth]
        hs256_secret = "\(TestGateway.secret)"
        [history]
        path = "history.sqlite"
        [offline]
        poll_interval_ms = 100
        retry_base_seconds = 1
        address_claims = ["smtp=email"]

        [[plugins]]
        name = "smtp"
        library = "libSMTPMessenger.so"
        [plugins.config]
        url = "smtp://127.0.0.1:\(smtp.port)"
        from = "gateway@example.org"
        starttls = "off"

        """.write(toFile: configPath, atomically: true, encoding: .utf8)

        var gateway = try await offThread { try OfflineGatewayProcess(binary: binary, config: configPath) }
        let client = TestGatewayClient(port: gateway.port)
        let bob = client.token("bob", email: "bob@example.org")
        _ = try client.http("GET", "/api/v1/me/messengers", token: bob)
        let alice = client.token("alice", publish: true)
        // Owed by mail 4 s after delivery; held 4 s, then owed by mail at once.
        let mailed = try client.publish(#"{"category": "chat.direct", "message": "pending mail", "target": {"principals": ["bob"]}, "fallback": {"after": 4, "via": ["smtp"]}}"#, token: alice)
        let held = try client.publish(#"{"category": "chat.direct", "message": "held event", "countdown": 4, "target": {"principals": ["bob"]}, "fallback": {"after": 0, "via": ["smtp"]}}"#, token: alice)
        #expect(mailed.status == 202 && held.status == 202)
        let heldId = try #require(try JSON.parse(held.text).view["id"].int)
        let stopping = gateway
        try await offThread { stopping.terminate() }

        gateway = try await offThread { try OfflineGatewayProcess(binary: binary, config: configPath) }
        defer { gateway.terminate() }
        let restarted = TestGatewayClient(port: gateway.port)
        _ = try await smtp.waitForMail { $0.contains("pending mail") }
        _ = try await smtp.waitForMail { $0.contains("held event") }
        // The held event was routed after the restart: it is in bob's history, with its id.
        let history = try JSON.parse(restarted.http("GET", "/api/v1/notifications", token: bob).text)
        #expect(history.view["notifications"].elements.contains { $0["id"].int == heldId })
        // A new event gets a new id, not one the held event already had.
        let after = try restarted.publish(#"{"category": "chat.direct", "message": "new", "target": {"principals": ["carol"]}}"#, token: alice)
        #expect(try #require(try JSON.parse(after.text).view["id"].int) > heldId)
        // Once each: both deliveries are done, and no copy follows a third restart.
        try await restarted.waitForMetric(#"gateway_messenger_deliveries_total{messenger="smtp",outcome="sent"}"#, atLeast: 2)
        let second = gateway
        try await offThread { second.terminate() }
        gateway = try await offThread { try OfflineGatewayProcess(binary: binary, config: configPath) }
        let third = TestGatewayClient(port: gateway.port)
        #expect(try third.http("GET", "/healthz").status == 200)
        try await Task.sleep(for: .milliseconds(500))  // several polls of the restarted scheduler
        #expect(smtp.mails().count == 2)
    }
}

/// The real `gateway run` binary as a child process.
struct OfflineGatewayProcess: Sendable {
    let process = Process()
    let port: Int

    init(binary: String, config: String) throws {
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--config", config, "--log-level", "warning"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        do {
            port = try readListeningPort(from: output, within: 30)
        } catch {
            kill(process.processIdentifier, SIGKILL)
            throw error
        }
    }

    /// SIGTERM (drains and closes the stores), then SIGKILL if it does not exit.
    func terminate() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<1000 where process.isRunning { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
