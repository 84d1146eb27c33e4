import Foundation
import GatewayChatClient
import GatewayCore
import GatewayJSON
import Testing

/// Reloading the plugin chain never closes a connection; the next event uses the new chain.
@Suite struct ReloadTests {
    @Test func reloadUnderAThousandClientsDropsNone() async throws {
        let gateway = try TestGateway()
        defer { gateway.stop() }
        let token = gateway.token("member", principals: ["group:room"])
        var clients: [WebSocketClient] = []
        for _ in 0..<1000 { clients.append(try await gateway.connect(token)) }
        // The server registers a connection right after its 101 response is written, so the
        // client can see the upgrade a moment before the count does.
        for _ in 0..<100 where gateway.server.connectionCount < 1000 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(gateway.server.connectionCount == 1000)
        let app = gateway.token("app", publish: true)
        // Before: no plugin handles "room.news".
        #expect(try gateway.publish(#"{"category":"room.news","message":"x"}"#, token: app).status == 422)

        var next = gateway.config
        next.plugins = [PluginFixtures.categoryTargets(["room.news": ["group:room"]])]
        _ = try gateway.server.reloadPlugins(from: next).get()

        #expect(gateway.server.connectionCount == 1000, "no connection dropped by the reload")
        let response = try gateway.publish(#"{"category":"room.news","message":"after reload"}"#, token: app)
        #expect(response.status == 202, "\(response.text)")
        for client in clients {
            #expect(try await client.nextJSON().view["message"].string == "after reload")
        }
    }

    @Test func sighupReloadsTheRunningBinaryAndRefusesABadConfig() async throws {
        let products = TestGateway.productsDirectory
        let binary = products + "/gateway"
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the gateway first: swift build")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-sighup-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let configPath = folder + "/gateway.conf"
        let base = """
        plugin_directory = "\(products)"
        [server]
        listen = "127.0.0.1:0"
        handshake_timeout_seconds = 120
        [auth]
        hs256_secret = "\(TestGateway.secret)"
        [history]
        path = "history.sqlite"

        """
        try base.write(toFile: configPath, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--config", configPath, "--log-level", "warning"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let port = try readListeningPort(from: output, within: 20)

        let client = TestGatewayClient(port: port)
        let member = try await client.connect(client.token("member", principals: ["group:room"]))
        let app = client.token("app", publish: true)
        #expect(try client.publish(#"{"category":"room.news","message":"x"}"#, token: app).status == 422)

        try (base + """
        [[plugins]]
        name = "category-targets"
        library = "libCategoryTargets.so"
        [plugins.config.categories]
        "room.news" = ["group:room"]

        """).write(toFile: configPath, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        try await waitUntil { try client.publish(#"{"category":"room.news","message":"reloaded"}"#, token: app).status == 202 }
        #expect(try await member.nextJSON().view["message"].string == "reloaded")

        // A broken config changes nothing: the old chain keeps routing.
        try (base + "[server]\nlisten = 5\n").write(toFile: configPath, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        try await Task.sleep(for: .milliseconds(500))
        #expect(try client.publish(#"{"category":"room.news","message":"still here"}"#, token: app).status == 202)
        #expect(try await member.nextJSON().view["message"].string == "still here")
        #expect(process.isRunning)

        // SIGTERM drains: every client gets close 1001 (going away), then the process exits 0.
        kill(process.processIdentifier, SIGTERM)
        guard case .close(let code, _) = try await member.next(timeout: .seconds(10)) else {
            Issue.record("expected a close frame on SIGTERM")
            return
        }
        #expect(code == 1001)
        for _ in 0..<100 where process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0)
    }


    private func waitUntil(_ condition: () throws -> Bool) async throws {
        for _ in 0..<50 {
            if try condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("condition not met within 5 s")
    }
}
