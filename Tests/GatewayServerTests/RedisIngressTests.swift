import Foundation
import GatewayChatClient
import GatewayCore
import GatewayRedis
import GatewayJSON
import GatewayServer
import Logging
import Testing

/// pyams_chat publishes on the Redis channel chat:main; a real redis-server carries it here.
@Suite struct RedisIngressTests {
    @Test func pyamsMessageOnRedisReachesItsTarget() async throws {
        let redis = try RedisServerProcess()
        defer { redis.stop() }
        let gateway = try TestGateway { config in
            config.redis.enabled = true
            config.redis.url = RedisEndpoint(port: redis.port)
        }
        defer { gateway.stop() }
        let user = try await gateway.connect(gateway.token("test:user"), headers: [("Origin", "http://example.com")])
        let message = #"{"action":"notify","category":"pyams.test","status":"info","source":{"id":"system:admin","title":"System manager authentication"},"title":"Test message","message":"Test message content","url":null,"timestamp":"2026-11-22T10:00:00.000000+00:00","host":"http://example.com","target":{"principals":["test:user"]}}"#
        var subscribers = 0
        for _ in 0..<50 where subscribers == 0 {
            subscribers = try redis.publish(channel: "chat:main", message)
            if subscribers == 0 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(subscribers == 1, "the gateway subscribed to chat:main")
        let event = try await user.nextJSON()
        #expect(event.view["message"].string == "Test message content")
        #expect(event.view["source"]["id"].string == "system:admin", "Redis is trusted: the source is kept")
        #expect(event.view["id"].int != nil)

        // Not JSON: dropped with a log line; the ingress keeps working.
        _ = try redis.publish(channel: "chat:main", "this is not json")
        _ = try redis.publish(channel: "chat:main", message.replacingOccurrences(of: "Test message content", with: "second"))
        #expect(try await user.nextJSON().view["message"].string == "second")
    }
}

/// `[redis] url`: password and database reach the server; a refused login stops the start.
@Suite struct RedisURLTests {
    @Test func ingressLogsInWithThePasswordOfTheURL() async throws {
        let redis = try RedisServerProcess(password: "p@ss word")
        defer { redis.stop() }
        let gateway = try TestGateway { config in
            config.redis.enabled = true
            config.redis.url = try! RedisEndpoint.parse("redis://:p%40ss%20word@127.0.0.1:\(redis.port)/3").get()
        }
        defer { gateway.stop() }
        let user = try await gateway.connect(gateway.token("test:user"), headers: [("Origin", "http://example.com")])
        #expect(try redis.publish(channel: "chat:main", #"{"category":"pyams.test","message":"through AUTH","host":"http://example.com","target":{"principals":["test:user"]}}"#) == 1,
                "subscribed before start() returned")
        #expect(try await user.nextJSON().view["message"].string == "through AUTH")
    }

    @Test(arguments: [("redis://:wrong@127.0.0.1:%d", "redis.auth_failed"),
                      ("redis://127.0.0.1:%d", "redis.auth_required"),
                      ("redis://:right@127.0.0.1:%d/99999", "redis.select_failed")])
    func aRefusedLoginIsAnErrorAtStart(_ url: String, _ code: String) throws {
        let redis = try RedisServerProcess(password: "right")
        defer { redis.stop() }
        var config = GatewayConfig()
        config.baseDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-test-\(UUID().uuidString)").path
        config.server.listen = "127.0.0.1:0"
        config.server.eventLoops = 1
        config.redis.enabled = true
        config.redis.url = try RedisEndpoint.parse(String(format: url, redis.port)).get()
        let host = PluginHost(logger: Logger(label: "test"))
        let chain = try host.makeChain([], pluginDirectory: nil, baseDirectory: config.baseDirectory).get()
        let server = try GatewayServer(config: config, chain: chain, pluginHost: host, logger: Logger(label: "test"))
        defer { server.shutdown() }
        #expect(throws: RedisConnectionError.self) { try server.start() }
        do {
            try server.start()
        } catch let error as RedisConnectionError {
            #expect(error.code == code)
            #expect(!error.message.contains("right") && !error.message.contains("wrong"), "no password in the message: \(error)")
        }
        #expect(server.boundPort == nil, "nothing listens after a refused login")
    }

    @Test func connectionSelectsTheDatabaseOfTheURL() throws {
        let redis = try RedisServerProcess(password: "pw")
        defer { redis.stop() }
        let connection = try RedisConnection.open(RedisEndpoint(port: redis.port, password: "pw", database: 5))
        #expect(try connection.command(["SET", "written-by", "gateway"]) == .status("OK"))
        #expect(try redis.command(["-n", "5", "GET", "written-by"]) == "gateway")
        #expect(try redis.command(["-n", "0", "GET", "written-by"]) == "")
        #expect(try connection.command(["NOSUCHCOMMAND"]).isError, "an error reply is a value, not a throw")
    }

    @Test func anUnreachableServerIsRedisUnreachableWithinTheTimeout() {
        // A port nothing listens on: refused at once, well inside the bound.
        do {
            _ = try RedisConnection.open(RedisEndpoint(port: 1), timeout: .seconds(5))
            Issue.record("connected to port 1")
        } catch {
            #expect(error.code == "redis.unreachable")
            #expect(!error.isConfigurationError, "worth retrying")
        }
    }
}

extension RedisReply {
    var isError: Bool { if case .error = self { true } else { false } }
}

/// redis-server as a child process on a free port, without persistence; `start()` after
/// `stop()` restarts it on the same port (empty: a restart without persistence loses everything).
// @unchecked: `process` is replaced by start() and read by stop(), which the one test owning it calls in turn.
final class RedisServerProcess: @unchecked Sendable {
    let port: Int
    let password: String?
    private var process = Process()

    init(password: String? = nil) throws {
        self.password = password
        port = RestartablePort.pick()
        try start()
    }

    func start() throws {
        guard let server = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].first(where: FileManager.default.isExecutableFile) else {
            throw TestFailure("redis-server is not installed (apt-get install redis-server; .ci/run does it)")
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: server)
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + (password.map { ["--requirepass", $0] } ?? [])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<300 {  // 30 s: a busy machine can take seconds to start it and answer
            if (try? command(["PING"])) == "PONG" { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw TestFailure("redis-server did not start on port \(port)")
    }

    func publish(channel: String, _ message: String) throws -> Int {
        Int(try command(["PUBLISH", channel, message])) ?? 0
    }

    func command(_ arguments: [String]) throws -> String {
        let cli = Process()
        cli.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        cli.arguments = ["-p", String(port)] + (password.map { ["--no-auth-warning", "-a", $0] } ?? []) + arguments
        let output = Pipe()
        cli.standardOutput = output
        cli.standardError = FileHandle.nullDevice
        try cli.run()
        cli.waitUntilExit()
        return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// SIGTERM, then SIGKILL after 3 s; returns once the process is gone. Polls rather than
    /// Process.waitUntilExit, which can wait forever when called from a Swift concurrency thread on Linux.
    func stop() {
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        for _ in 0..<300 where process.isRunning { usleep(10_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        for _ in 0..<300 where process.isRunning { usleep(10_000) }
    }
}
