import ArgumentParser
import Foundation
import GatewayCore
import GatewayRedis
import GatewayServer
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Serve WebSocket clients and the HTTP API. SIGHUP reloads plugins, keys and the TLS certificate; SIGTERM drains.")

    @Option(name: .long, help: "The configuration file.")
    var config: String = "gateway.conf"

    @Option(name: .long, help: "Listen on HOST:PORT instead of [server] listen.")
    var listen: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
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
        } catch let error as GatewayError {
            // E.g. a TLS certificate that cannot be served: "code: message", before any port opens.
            logger.error("cannot start: \(error)")
            throw ExitCode(2)
        }
        // One plain line on stdout, for people and for scripts that started us on port 0.
        print("gateway listening on \(address.ipAddress ?? "?"):\(address.port ?? 0)")
        fflush(nil)  // every C stream: stdout, where print wrote

        // swift-service-lifecycle owns the signals, one owner each: the group turns SIGTERM and
        // SIGINT into a graceful shutdown (the drain); ReloadOnHangup owns SIGHUP.
        let reload = ReloadOnHangup(configPath: config, server: server, host: host, logger: logger)
        var group = ServiceGroupConfiguration(
            services: [
                .init(service: DrainOnShutdown(server: server, drainSeconds: configuration.server.drainSeconds)),
                .init(service: reload, successTerminationBehavior: .ignore),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // A drain that overruns its own deadline (a stuck flush) is cancelled, not waited for.
        group.maximumGracefulShutdownDuration = .seconds(configuration.server.drainSeconds + 30)
        try await ServiceGroup(configuration: group).run()
        PluginHost.waitForPendingDestroys()
    }

    private func makeLogger() -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
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
}

/// The gateway as a service: runs until the group's graceful shutdown (SIGTERM, SIGINT), then
/// drains (GatewayServer.shutdown) within `drainSeconds`.
struct DrainOnShutdown: Service {
    let server: GatewayServer
    let drainSeconds: Int

    func run() async throws {
        // Returns when the graceful shutdown starts; throws if the group is cancelled instead.
        try? await gracefulShutdown()
        let server = self.server, drainSeconds = self.drainSeconds
        // The drain blocks (it waits on NIO futures): keep it off the cooperative pool.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                server.shutdown(drainSeconds: drainSeconds)
                done.resume()
            }
        }
    }
}

/// SIGHUP: re-read the config and swap in a new plugin chain. A reload whose config or plugins
/// are invalid changes nothing and logs every error.
struct ReloadOnHangup: Service {
    let configPath: String
    let server: GatewayServer
    let host: PluginHost
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            reload()
        }
    }

    private func reload() {
        logger.notice("SIGHUP: reloading \(configPath)")
        do {
            try server.reloadKeys()
        } catch {
            logger.error("JWKS reload refused, the previous keys stay in force: \(error)")
        }
        do {
            try server.reloadTLS()
        } catch {
            logger.error("TLS certificate reload refused, the previous certificate stays in force: \(error)")
        }
        let fresh: GatewayConfig
        switch ConfigLoader.load(path: configPath) {
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
