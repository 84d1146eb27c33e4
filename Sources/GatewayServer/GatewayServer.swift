import GatewayAuth
import GatewayCore
import GatewayEngine
import GatewayStore
import Logging
import Dispatch
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// A running gateway: one listening port for the HTTP API and the WebSocket upgrade.
///
/// This is where the parts are built and wired, each handed what it needs (there is no shared
/// context): the engine over this node's fan-out, the pipeline over the engine, the HTTP routes
/// and the WebSocket endpoint over the pipeline.
public final class GatewayServer: @unchecked Sendable {  // `channel` and `redis` are set in start() and read in shutdown(), called in that order by one owner
    public let config: GatewayConfig
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let blockingPool: NIOThreadPool
    /// The context service's calls (`[auth] context_url`): blocking HTTP GETs, kept off the
    /// event loops and off `blockingPool` (SQLite), so a slow site slows only new logins.
    private let contextPool: NIOThreadPool?
    private let chain: ChainReference
    /// The [[plugins]] entries in force; SIGHUP and the admin console change them through it.
    private let plugins: PluginSwitch
    private let fanOut: FanOut
    private let engine: any EventEngine
    private let pipeline: EventPipeline
    private let roomStore: any RoomStore
    /// Rooms and presence in Redis (redis engine); nil with the memory engine (SQLite, this node).
    private let redisRooms: RedisRooms?
    private let presence: RoomPresence
    private let http: HTTPAPI
    private let webSocket: WebSocketEndpoint
    private let authenticator: Authenticator
    private var channel: Channel?
    private var redis: RedisSubscriber?
    /// Connection limits (`max_connections`, `max_connections_per_ip`), shared by every loop.
    private let admission: ConnectionAdmission
    /// Tracks every accepted connection so a drain can ask each to finish (NIOExtras).
    private let quiescing: ServerQuiescingHelper
    private let offline: OfflineDelivery
    private let offlineStore: OfflineStore
    private var offlineScheduler: OfflineScheduler?
    /// `[server] tls_certificate_file` / `tls_private_key_file`; nil: plain HTTP and ws.
    private let tls: TLSCertificates?

    /// Builds everything that can fail before a port is opened: keys, plugins, history.
    public init(config: GatewayConfig, chain: PluginChain, pluginHost: PluginHost, logger: Logger) throws {
        self.config = config
        self.logger = logger
        let metrics = GatewayMetrics.shared
        var authenticator = Authenticator(
            verifier: try TokenVerifier(settings: AuthSettingsResolver.settings(from: config, logger: logger)),
            cache: VerifiedTokenCache())
        let history = try HistoryStore(path: config.resolvePath(config.history.path), perPrincipal: config.history.perRecipient,
                                       logger: logger)
        // A certificate that cannot be served stops the start here, before any port is opened.
        tls = try TLSCertificates.configured(by: config)
        ConnectionAdmission.raiseOpenFileLimit()
        admission = ConnectionAdmission(
            maxConnections: config.server.maxConnections > 0 ? config.server.maxConnections : ConnectionAdmission.derivedMaxConnections(),
            maxPerAddress: config.server.maxConnectionsPerIP, evictions: metrics.connectionsEvicted, logger: logger)
        let threads = config.server.eventLoops > 0 ? config.server.eventLoops : System.coreCount
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        blockingPool = NIOThreadPool(numberOfThreads: max(2, System.coreCount))
        blockingPool.start()
        if let url = config.auth.contextURL {
            let pool = NIOThreadPool(numberOfThreads: Self.contextThreads)
            pool.start()
            authenticator.context = ContextPrincipals(client: ContextServiceClient(url: url), pool: pool,
                                                      timeout: .seconds(Int64(config.auth.contextTimeoutSeconds)))
            contextPool = pool
        } else {
            contextPool = nil
        }
        quiescing = ServerQuiescingHelper(group: group)
        let chain = ChainReference(chain)
        self.chain = chain
        plugins = PluginSwitch(config: config, host: pluginHost, chain: chain, logger: logger)
        let presenceChanges = PresenceChanges()
        let fanOut = FanOut(loops: Array(group.makeIterator()), changes: presenceChanges, metrics: metrics)
        self.fanOut = fanOut
        offlineStore = try OfflineStore(
            path: config.resolvePath(config.offline.path ?? Self.siblingOf(config.history.path, "offline.sqlite")), logger: logger)
        // Held events have ids but are not in history yet: new ids must start after them too.
        var engine = try Self.makeEngine(config, history: history, delivery: fanOut, chain: chain,
                                         reservedIds: try offlineStore.highestHeldId(), logger: logger)
        if let key = config.redis.notificationsKey {
            engine = NotificationsListEngine(inner: engine, writer: NotificationsWriter(
                endpoint: config.redis.url, key: key, length: config.redis.notificationsLength, logger: logger))
        }
        self.engine = engine
        let offline = OfflineDelivery(
            store: offlineStore, settings: config.offline, chain: chain,
            isOnline: { fanOut.isOnline($0) }, metrics: MessengerMetrics(),
            pool: blockingPool, logger: logger)
        self.offline = offline
        authenticator.onVerified = { offline.rememberClaims($0) }
        self.authenticator = authenticator
        let attachments = AttachmentService(
            store: try AttachmentStore(directory: config.resolvePath(config.attachments.directory), history: history, logger: logger),
            chain: chain, logger: logger)
        let directory: any PresenceDirectory
        if config.engine.kind == "redis" {
            // Several nodes: rooms and presence shared in Redis, so every node sees the same.
            let redisRooms = RedisRooms(endpoint: config.redis.url, presenceTTLSeconds: config.engine.presenceTTLSeconds,
                                        eventsPerRoom: config.history.perRoom, logger: logger)
            redisRooms.start()
            self.redisRooms = redisRooms
            roomStore = redisRooms.store
            directory = redisRooms.presence
        } else {
            redisRooms = nil
            roomStore = try SQLiteRoomStore(history: history, eventsPerRoom: config.history.perRoom, logger: logger)
            directory = LocalPresence(isOnline: { fanOut.isOnline($0) })
        }
        let rooms = RoomService(store: roomStore, engine: engine, watcherPrincipals: config.auth.roomWatcherPrincipals, logger: logger)
        presence = RoomPresence(changes: presenceChanges, store: roomStore, directory: directory, engine: engine,
                                pool: blockingPool, defaultHost: config.server.defaultHost, logger: logger)
        pipeline = EventPipeline(
            normalize: NormalizeStep(defaultHost: config.server.defaultHost, unknownFields: config.server.unknownEventFields),
            attachments: AttachmentStep(resolver: attachments), targets: TargetStep(rooms: rooms), engine: engine, chain: chain,
            blocking: BlockingPool(pool: blockingPool), counters: metrics.pipeline, later: offline)
        // Plugins may now publish (bots) and set member states (scripted flows): ABI 1.3 services.
        pluginHost.services.attach(PluginServicesRouter(pipeline: pipeline, rooms: rooms, pool: blockingPool,
                                                        defaultHost: config.server.defaultHost, logger: logger))
        let hosts = HostPolicy(defaultHost: config.server.defaultHost, grants: config.hosts)
        http = HTTPAPI(
            authenticator: authenticator,
            publish: PublishRoute(authenticator: authenticator, pipeline: pipeline, hosts: hosts),
            notifications: NotificationsRoute(authenticator: authenticator, engine: engine, chain: chain, pool: blockingPool,
                                              hosts: hosts, limit: config.history.perRecipient),
            context: ContextRoute(authenticator: authenticator, chain: chain),
            status: StatusRoutes(delivery: fanOut, engine: engine, chain: chain, metrics: metrics),
            attachments: AttachmentRoutes(service: attachments, authenticator: authenticator, chain: chain, pool: blockingPool,
                                          settings: config.attachments, logger: logger),
            rooms: RoomRoutes(authenticator: authenticator, rooms: rooms, presence: presence, pool: blockingPool,
                              defaultHost: config.server.defaultHost),
            offline: OfflineRoutes(offline: offline, authenticator: authenticator, pool: blockingPool),
            admin: AdminAPI(authenticator: authenticator, auth: config.auth, fanOut: fanOut, plugins: plugins, chain: chain,
                            history: config.engine.kind == "memory" ? history : nil, engine: engine, metrics: metrics,
                            pipeline: pipeline,
                            blockingPool: blockingPool, logger: logger),
            pluginQueries: PluginQueryRoute(authenticator: authenticator, chain: chain, pool: blockingPool),
            developmentLogin: DevelopmentLogin(config: config),
            maxBodyBytes: config.server.maxEventBytes, metricsAccess: config.server.metricsAccess)
        webSocket = WebSocketEndpoint(
            authenticator: authenticator, pipeline: pipeline, rooms: RoomSignals(rooms: rooms, pipeline: pipeline, pool: blockingPool),
            fanOut: fanOut,
            replay: HistoryReplay(engine: engine, chain: chain, pool: blockingPool, limit: config.history.perRecipient, logger: logger),
            hosts: hosts,
            reader: .init(maxMessageBytes: config.server.maxMessageBytes, framesPerSecond: config.server.clientFramesPerSecond,
                          frameBurst: config.server.clientFrameBurst),
            writer: .init(maxOutboundBytes: config.server.maxOutboundBytes, closeTimeoutSeconds: config.server.closeTimeoutSeconds,
                          pingInterval: config.server.pingIntervalSeconds > 0 ? .seconds(Int64(config.server.pingIntervalSeconds)) : nil,
                          pongTimeout: .seconds(Int64(config.server.pongTimeoutSeconds))),
            metrics: metrics, logger: logger, logoutPaths: Set(config.server.authFailureLogoutPaths))
    }

    /// Context-service calls at once; each waits at most `context_timeout_seconds`.
    static let contextThreads = 4

    private static func makeEngine(_ config: GatewayConfig, history: HistoryStore, delivery: FanOut, chain: ChainReference,
                                   reservedIds: Int64, logger: Logger) throws -> any EventEngine {
        let settings = config.engine
        switch settings.kind {
        case "memory":
            // Held events (offline delivery) have ids not yet in history: new ids start above them.
            return MemoryEngine(history: history, recording: config.history.enabled, delivery: delivery,
                                reservedIds: reservedIds, logger: logger)
        case "redis":
            return try RedisEventEngine(settings: .init(endpoint: config.redis.url, historyPerPrincipal: config.history.perRecipient),
                                        delivery: delivery, chain: chain, logger: logger)
        default:
            // The config loader refuses unknown kinds; this guards a config built in code.
            throw GatewayError(code: "config.unknown_engine", message: "unknown engine '\(settings.kind)'", status: 500)
        }
    }

    /// Binds and starts accepting. Returns the bound address (useful with port 0).
    @discardableResult
    public func start(listen override: String? = nil) throws -> SocketAddress {
        let (hostName, port) = try ListenAddress.parse(override ?? config.server.listen)
        // Before binding: a Redis login the server refuses stops the start here.
        if config.redis.enabled { try startRedisIngress() }
        let connections = ConnectionPipeline(tls: tls, http: http, webSocket: webSocket, admission: admission,
                                             limits: .init(config.server), metrics: GatewayMetrics.shared, logger: logger)
        let quiescing = self.quiescing
        let bound = try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.writeBufferWaterMark,
                                value: .init(low: config.server.maxOutboundBytes / 2, high: config.server.maxOutboundBytes))
            // One listener initializer (a second would replace the first): accept backoff, then
            // the drain's record of every accepted connection.
            .serverChannelInitializer { channel in
                connections.configureListener(channel).flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelInitializer { connections.configure($0) }
            .bind(host: hostName, port: port)
            .wait()
        channel = bound
        presence.start(on: group.next())
        startOfflineScheduler()
        logger.info("gateway listening", metadata: ["address": "\(bound.localAddress!)", "engine": "\(engine.kind)",
                                                    "tls": "\(tls.map { "certificate serial \($0.serial)" } ?? "off")",
                                                    "plugins": "\(chain.current.plugins.map(\.name))"])
        return bound.localAddress!
    }

    /// chat:main: each message is handed to an event loop, so the pipeline (and its plugin
    /// hooks) never runs on the subscriber's thread. With the redis engine one node routes each
    /// message (every node delivers what any node routes); with the memory engine every node
    /// routes it to its own connections.
    private func startRedisIngress() throws {
        let pipeline = self.pipeline, logger = self.logger, group = self.group
        let claim = config.engine.kind == "redis" ? RedisIngressClaim(endpoint: config.redis.url, logger: logger) : nil
        let channel = config.redis.channel
        let subscriber = RedisSubscriber(settings: config.redis, logger: logger,
                                         shouldRoute: { claim?.claim(channel: channel, payload: $0) ?? true }) { event in
            group.next().execute {
                pipeline.publish(event, from: Publisher(id: "redis", title: nil, trusted: true), ingress: .redis,
                                 hostFallback: nil) { result in
                    if case .failure(let error) = result {
                        logger.warning("redis event refused", metadata: ["code": "\(error.code)", "reason": "\(error.message)"])
                    }
                }
            }
        }
        try subscriber.start()
        redis = subscriber
    }

    /// SIGHUP: re-reads `[auth] jwks_file` (keys rotate without a restart) and forgets cached
    /// verifications. A file that does not parse leaves the keys in force and throws.
    public func reloadKeys() throws {
        // The context service's answers are asked again: a site that changed a user's groups
        // can have them applied without waiting for the tokens to expire.
        authenticator.context?.removeAll()
        guard let jwks = try config.resolvedJWKS() else { return }
        try authenticator.verifier.reloadJWKS(jwks)
        authenticator.cache.removeAll()
        logger.notice("JWKS reloaded", metadata: ["algorithms": "\(authenticator.verifier.enabledAlgorithms)"])
    }

    /// SIGHUP: re-reads the TLS certificate and key. Connections accepted from now on get the new
    /// certificate; open ones keep theirs. Files that do not load leave the certificate in force
    /// and throw (`tls.certificate_unreadable`, `tls.private_key_unreadable`, `tls.key_mismatch`).
    public func reloadTLS() throws {
        guard let tls else { return }
        try tls.reload()
        logger.notice("TLS certificate reloaded", metadata: ["serial": "\(tls.serial)", "file": "\(tls.certificatePath)"])
    }

    /// Held events and owed messenger deliveries: looked for every poll interval, on the pool.
    private func startOfflineScheduler() {
        let pipeline = self.pipeline, logger = self.logger
        let scheduler = OfflineScheduler(delivery: offline, loop: group.next(), pool: blockingPool,
                                         intervalMilliseconds: config.offline.pollIntervalMilliseconds) { event, fallback in
            do throws(GatewayError) {
                try pipeline.routeHeld(event, fallback: fallback)
            } catch {
                logger.error("a held event could not be routed", metadata: ["code": "\(error.code)", "reason": "\(error.message)"])
            }
        }
        scheduler.start()
        offlineScheduler = scheduler
    }

    /// `name` in the folder of `path` ("gateway-data/history.sqlite" → "gateway-data/offline.sqlite").
    static func siblingOf(_ path: String, _ name: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return name }
        return String(path[...slash]) + name
    }

    public var boundPort: Int? { channel?.localAddress?.port }

    /// SIGHUP: swap in a chain built from a re-read config. Connections stay open; the next
    /// event uses the new chain; events in flight finish with the old one. On any error the
    /// running chain stays and the errors are returned.
    public func reloadPlugins(from config: GatewayConfig) -> Result<PluginChain, [PluginLoadError]> {
        let result = plugins.reload(config)
        if case .success(let chain) = result {
            logger.notice("plugin chain reloaded", metadata: ["plugins": "\(chain.plugins.map(\.name))"])
        }
        return result
    }

    public var currentChain: PluginChain { chain.current }

    /// WebSocket clients connected right now.
    public var connectionCount: Int { fanOut.connectionCount }

    /// SIGTERM: the drain. Stops accepting (the listening socket closes), asks every connection
    /// to finish — an HTTP request in flight gets its answer, then the connection closes; idle
    /// keep-alive connections close now; WebSockets get close 1001 (going away) — and waits for
    /// them up to `drainSeconds`. Whatever is still open then is cut. Finally every event the
    /// engine accepted is flushed to history.
    ///
    /// Blocks until done; call it once, from outside the event loops.
    public func shutdown(drainSeconds: Int = 0) {
        presence.stop()
        redis?.stop()
        // Sends in progress finish and are recorded: a restart does not repeat them.
        offlineScheduler?.stop()
        let finished = DispatchSemaphore(value: 0)
        let allClosed = group.next().makePromise(of: Void.self)
        allClosed.futureResult.whenComplete { _ in finished.signal() }
        quiescing.initiateShutdown(promise: allClosed)
        if finished.wait(timeout: .now() + .seconds(drainSeconds)) == .timedOut {
            logger.warning("drain: connections still open after drain_seconds are cut",
                           metadata: ["drain_seconds": "\(drainSeconds)", "websockets": "\(fanOut.connectionCount)"])
        }
        try? group.syncShutdownGracefully()
        try? blockingPool.syncShutdownGracefully()
        try? contextPool?.syncShutdownGracefully()
        engine.shutdown()
        roomStore.close()
        redisRooms?.stop()
        offlineStore.close()
        logger.info("gateway stopped")
    }
}

/// The pipeline's blocking work goes to the server's NIOThreadPool.
struct BlockingPool: BlockingExecutor {
    let pool: NIOThreadPool

    func execute(_ work: @escaping @Sendable () -> Void) {
        pool.submit { state in
            // A pool that is shutting down still answers: the work's completion reports to its caller.
            _ = state
            work()
        }
    }
}
