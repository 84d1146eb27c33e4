import Foundation
import GatewayAuth
import GatewayCore
import GatewayServer
import Logging
import NIOCore
import NIOPosix

/// A real gateway on 127.0.0.1 (port 0) with real plugins from the build folder, a private data
/// folder, and helpers to mint tokens and speak HTTP. One per test.
final class TestGateway: GatewayEndpoint, @unchecked Sendable {  // @unchecked: `config`, `server`, `port` are set by start()/restart() in the test's own sequence, read after
    static let secret = "test-secret-for-gateway-server-tests"
    let directory: String
    private(set) var config: GatewayConfig
    private(set) var server: GatewayServer!
    private(set) var port: Int = 0
    let pluginHost: PluginHost
    let logger: Logger

    /// The folder holding the test binary — `swift build` puts the plugin .so files there.
    static var productsDirectory: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }

    init(directory: String? = nil, configure: (inout GatewayConfig) -> Void = { _ in }) throws {
        let folder = directory ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("gateway-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        self.directory = folder
        var config = GatewayConfig()
        config.baseDirectory = folder
        config.server.listen = "127.0.0.1:0"
        config.server.eventLoops = 2
        // Tests share 2 cores with many others: a client may not get its first request out within
        // the 30 s default. The timeout tests set their own.
        config.server.handshakeTimeoutSeconds = 120
        config.auth.hs256Secret = Self.secret
        config.history.path = "history.sqlite"
        config.attachments.directory = "attachments"
        config.pluginDirectory = Self.productsDirectory
        configure(&config)
        self.config = config
        var logger = Logger(label: "test-gateway")
        logger.logLevel = .warning
        self.logger = logger
        GatewayMetrics.bootstrap()
        pluginHost = PluginHost(logger: logger)
        try start()
    }

    func start() throws {
        let chain: PluginChain
        switch pluginHost.makeChain(config.plugins, pluginDirectory: config.pluginDirectory, baseDirectory: config.baseDirectory) {
        case .success(let built): chain = built
        case .failure(let errors): throw TestFailure("plugins failed to load: \(errors)")
        }
        server = try GatewayServer(config: config, chain: chain, pluginHost: pluginHost, logger: logger)
        let address = try server.start()
        port = address.port!
    }

    /// Stops and starts again on the same data folder (a new port).
    func restart() throws {
        server.shutdown()
        try start()
    }

    func stop() { server.shutdown() }

}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What a test needs to talk to a gateway on a port: tokens signed with the test secret and HTTP.
protocol GatewayEndpoint {
    var port: Int { get }
}

/// A gateway running as a separate process (the real binary).
struct TestGatewayClient: GatewayEndpoint {
    let port: Int
}

extension GatewayEndpoint {
    func token(_ sub: String, principals: [String] = [], title: String? = nil, publish: Bool = false, ttl: Int = 3600) -> String {
        TokenMinter.hs256(secret: Array(TestGateway.secret.utf8), subject: sub, principals: principals, title: title,
                          publish: publish, ttlSeconds: ttl, now: Int(Date().timeIntervalSince1970))
    }

    func http(_ method: String, _ path: String, token: String? = nil, headers: [(String, String)] = [],
              body: [UInt8] = []) throws -> RawHTTPResponse {
        var all = headers
        if let token { all.append(("Authorization", "Bearer \(token)")) }
        return try RawHTTP.request(port: port, method: method, path: path, headers: all, body: body)
    }

    func publish(_ event: String, token: String) throws -> RawHTTPResponse {
        try http("POST", "/api/v1/events", token: token, headers: [("Content-Type", "application/json")], body: Array(event.utf8))
    }
}
