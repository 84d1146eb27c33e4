import ArgumentParser
import Dispatch
import Foundation
import GatewayCore
import GatewayRedis
import GatewayServer
import Logging
import NIOCore

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Serve WebSocket clients and the HTTP API. SIGHUP reloads plugins, SIGTERM drains.")

    @Option(name: .long, help: "The configuration file.")
    var config: String = "gateway.conf"

    @Option(name: .long, help: "Listen on HOST:PORT instead of [server] listen.")
    var listen: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() throws {
        let logger = makeLogger()
        GatewayMetrics.bootstrap()
        let configuration = try loadConfig(logger: logger)
        let host = PluginHost(logger: logger)
        let chain: PluginChain
        switch host.makeChain(configuration.plugins, pluginDirectory: configuration.pluginDirectory,
                              baseDirectory: configuration.baseDirectory) {
        case .success(let built): chain = built
        case .failure(let errors):
            for error in errors { logger.error("\(error)") }
            throw ExitCode(2)
        }
        let server: GatewayServer
        let address: SocketAddress
        do {
            // A refused Redis login (the redis engine at construction, the ingress at start)
            // stops the start with the reason; an unreachable Redis does not.
            server = try GatewayServer(config: configuration, chain: chain, pluginHost: host, logger: logger)
            address = try server.start(listen: listen)
        } catch let error as RedisConnectionError {
            logger.error("cannot start: \(error)")
            throw ExitCode(2)
        }
        // One plain line on stdout, for people and for scripts that started us on port 0.
        print("gateway listening on \(address.ipAddress ?? "?"):\(address.port ?? 0)")
        fflush(stdout)

        let stop = DispatchSemaphore(value: 0)
        let signals = SignalHandlers()
        signals.on(SIGHUP) { reload(server: server, host: host, logger: logger) }
        signals.on(SIGTERM) { stop.signal() }
        signals.on(SIGINT) { stop.signal() }
        stop.wait()
        logger.notice("shutting down: closing connections (1001) and flushing history")
        server.shutdown()
        PluginHost.waitForPendingDestroys()
    }

    private func makeLogger() -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        return Logger(label: "gateway")
    }

    private func loadConfig(logger: Logger) throws -> GatewayConfig {
        switch ConfigLoader.load(path: config) {
        case .success(let loaded): return loaded
        case .failure(let errors):
            for error in errors.errors { logger.error("\(error)") }
            throw ExitCode(2)
        }
    }

    /// A reload whose config or plugins are invalid changes nothing and logs every error.
    private func reload(server: GatewayServer, host: PluginHost, logger: Logger) {
        logger.notice("SIGHUP: reloading \(config)")
        do {
            try server.reloadKeys()
        } catch {
            logger.error("JWKS reload refused, the previous keys stay in force: \(error)")
        }
        let fresh: GatewayConfig
        switch ConfigLoader.load(path: config) {
        case .success(let loaded): fresh = loaded
        case .failure(let errors):
            for error in errors.errors { logger.error("reload refused: \(error)") }
            return
        }
        switch server.reloadPlugins(from: fresh) {
        case .success:
            var unchanged = fresh
            unchanged.plugins = server.config.plugins
            if unchanged != server.config {
                logger.warning("reload applies [[plugins]] only; other changed sections take effect after a restart")
            }
        case .failure(let errors):
            for error in errors { logger.error("reload refused: \(error)") }
        }
    }
}

/// Owns the process's signal handling (one handler per signal, in one place).
final class SignalHandlers {
    private var sources: [DispatchSourceSignal] = []

    func on(_ signalNumber: Int32, _ action: @escaping () -> Void) {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler(handler: action)
        source.resume()
        sources.append(source)
    }
}
