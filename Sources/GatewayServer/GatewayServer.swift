import GatewayAuth
import GatewayCore
import GatewayStore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// A running gateway: one listening port for the HTTP API and the WebSocket upgrade.
public final class GatewayServer: @unchecked Sendable {
    public let config: GatewayConfig
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let blockingPool: NIOThreadPool
    private let context: ServerContext
    private var channel: Channel?
    private let host: PluginHost
    private var redis: RedisSubscriber?

    /// Builds everything that can fail before a port is opened: keys, plugins, history.
    public init(config: GatewayConfig, chain: PluginChain, pluginHost: PluginHost, logger: Logger) throws {
        self.config = config
        self.logger = logger
        self.host = pluginHost
        let verifier = try TokenVerifier(settings: AuthSettingsResolver.settings(from: config, logger: logger))
        let history = try HistoryStore(path: config.resolvePath(config.history.path), perPrincipal: config.history.perRecipient,
                                       logger: logger)
        let threads = config.server.eventLoops > 0 ? config.server.eventLoops : System.coreCount
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        blockingPool = NIOThreadPool(numberOfThreads: max(2, System.coreCount))
        blockingPool.start()
        let loops = Array(group.makeIterator())
        context = ServerContext(config: config, logger: logger, verifier: verifier, chain: ChainReference(chain),
                                history: history, metrics: .shared, loops: loops, blockingPool: blockingPool)
        context.attachRouter(ids: EventIdGenerator(startingAfter: history.lastEventId()))
        context.attachAttachments(AttachmentService(config: config, store: try AttachmentStore(directory: config.resolvePath(config.attachments.directory), history: history, logger: logger), chain: context.chain, logger: logger))
    }

    /// Binds and starts accepting. Returns the bound address (useful with port 0).
    @discardableResult
    public func start(listen override: String? = nil) throws -> SocketAddress {
        let (hostName, port) = try ListenAddress.parse(override ?? config.server.listen)
        let context = self.context
        let bound = try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark,
                                value: .init(low: context.config.server.maxOutboundBytes / 2, high: context.config.server.maxOutboundBytes))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let setup = ConnectionSetup()
                    let upgrader = WebSocketUpgrade.makeUpgrader(server: context, setup: setup)
                    let httpHandler = HTTPRequestHandler(server: context, setup: setup)
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { upgradeContext in
                            upgradeContext.pipeline.syncOperations.removeHandler(httpHandler, promise: nil)
                        }))
                    try channel.pipeline.syncOperations.addHandler(httpHandler)
                }
            }
            .bind(host: hostName, port: port)
            .wait()
        channel = bound
        if config.redis.enabled { startRedisIngress() }
        logger.info("gateway listening", metadata: ["address": "\(bound.localAddress!)",
                                                    "plugins": "\(context.chain.current.plugins.map(\.name))"])
        return bound.localAddress!
    }

    private func startRedisIngress() {
        let context = self.context
        let logger = self.logger
        let subscriber = RedisSubscriber(settings: config.redis, logger: logger) { event in
            do throws(GatewayError) {
                _ = try context.router.publish(event.view, from: Publisher(id: "redis", title: nil, trusted: true),
                                               ingress: "redis")
            } catch {
                logger.warning("redis event refused", metadata: ["code": "\(error.code)", "reason": "\(error.message)"])
            }
        }
        subscriber.start()
        redis = subscriber
    }

    public var boundPort: Int? { channel?.localAddress?.port }

    /// SIGHUP: swap in a chain built from a re-read config. Connections stay open; the next
    /// event uses the new chain; events in flight finish with the old one.
    public func replaceChain(_ chain: PluginChain) {
        context.chain.replace(with: chain)
        logger.notice("plugin chain reloaded", metadata: ["plugins": "\(chain.plugins.map(\.name))"])
    }

    public var currentChain: PluginChain { context.chain.current }

    /// WebSocket clients connected right now.
    public var connectionCount: Int { context.fanOut.connectionCount }

    /// SIGTERM: stop accepting, close every WebSocket with 1001 (going away), flush history.
    public func shutdown() {
        try? channel?.close().wait()
        redis?.stop()
        let closes = context.fanOut.shards.map { shard in
            shard.loop.submit {
                var connections: [ClientConnection] = []
                shard.index.forEachSession { connections.append($0.session) }
                for connection in connections { connection.close(code: .goingAway, reason: "gateway shutting down", immediately: true) }
            }
        }
        for close in closes { try? close.wait() }
        context.history?.flush()
        context.history?.close()
        try? group.syncShutdownGracefully()
        try? blockingPool.syncShutdownGracefully()
        logger.info("gateway stopped")
    }
}
