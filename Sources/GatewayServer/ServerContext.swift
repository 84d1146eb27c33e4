import GatewayAuth
import GatewayCore
import GatewayStore
import Logging
import NIOCore
import NIOPosix

/// Everything the handlers of one running gateway share. Immutable except the plugin chain,
/// which a reload swaps atomically (ChainReference).
final class ServerContext: @unchecked Sendable {
    let config: GatewayConfig
    let logger: Logger
    let verifier: TokenVerifier
    let chain: ChainReference
    let history: HistoryStore?
    /// Set once at start with the router; nil when attachments are not configured.
    private(set) var attachments: AttachmentService?
    let metrics: GatewayMetrics
    let fanOut: FanOut
    let blockingPool: NIOThreadPool
    let allocator = ByteBufferAllocator()
    let tokenCache = VerifiedTokenCache()
    /// Set once by GatewayServer before the first connection is accepted, never changed after.
    private(set) var router: EventRouter!

    init(config: GatewayConfig, logger: Logger, verifier: TokenVerifier, chain: ChainReference,
         history: HistoryStore?, metrics: GatewayMetrics, loops: [EventLoop], blockingPool: NIOThreadPool) {
        self.config = config
        self.logger = logger
        self.verifier = verifier
        self.chain = chain
        self.history = history
        self.metrics = metrics
        self.fanOut = FanOut(loops: loops, metrics: metrics)
        self.blockingPool = blockingPool
    }

    func attachAttachments(_ service: AttachmentService) {
        attachments = service
    }

    func attachRouter(ids: EventIdGenerator) {
        precondition(router == nil, "the router is attached once")
        router = EventRouter(server: self, ids: ids)
    }
}
