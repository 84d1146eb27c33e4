import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The listening socket's answer to an accept that fails for lack of descriptors or memory
/// (EMFILE, ENFILE, ENOBUFS, ENOMEM): stop accepting for a moment instead of retrying at once.
///
/// Why not NIO's `AcceptBackoffHandler`: after a failed accept the listening channel's read stays
/// pending, so NIO keeps the socket registered with epoll (level-triggered) and never asks for
/// the next read that the backoff handler would delay. The kernel reports the queued connection
/// again at once, accept fails again: a busy loop (150 CPU ticks in 2 s, measured). Turning
/// `autoRead` off is what takes the socket out of epoll; turning it back on resumes accepting.
///
/// While paused, a connection that has not sent a complete request head is closed to make room,
/// chosen as at `max_connections` (its descriptor is the one the next accept needs), and
/// accepting resumes when it is closed; with no such connection, accepting resumes after `backoff`.
final class AcceptAtFileLimit: ChannelInboundHandler {
    typealias InboundIn = Channel
    typealias InboundOut = Channel

    private let admission: ConnectionAdmission
    private let backoff: TimeAmount
    private let metrics: GatewayMetrics
    private let logger: Logger
    private var paused = false
    private var resumeLater: Scheduled<Void>?

    init(admission: ConnectionAdmission, backoff: TimeAmount = .milliseconds(200), metrics: GatewayMetrics, logger: Logger) {
        self.admission = admission
        self.backoff = backoff
        self.metrics = metrics
        self.logger = logger
    }

    private static let outOfResources: Set<CInt> = [EMFILE, ENFILE, ENOBUFS, ENOMEM]

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let ioError = error as? IOError, Self.outOfResources.contains(ioError.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        metrics.acceptsOutOfFiles.increment()
        guard !paused else { return }
        paused = true
        try? context.channel.syncOptions?.setOption(.autoRead, value: false)
        if let evicted = admission.evictPending() {
            evicted.closeFuture.hop(to: context.eventLoop).assumeIsolated().whenComplete { _ in self.resume(context) }
        } else {
            logger.warning("out of file descriptors with every connection in use: accepting paused",
                           metadata: ["errno": "\(ioError.errnoCode)", "retry_ms": "\(backoff.nanoseconds / 1_000_000)"])
            resumeLater = context.eventLoop.assumeIsolated().scheduleTask(in: backoff) { self.resume(context) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        resumeLater?.cancel()
        resumeLater = nil
        context.fireChannelInactive()
    }

    private func resume(_ context: ChannelHandlerContext) {
        guard paused else { return }
        paused = false
        resumeLater = nil
        // A listener closed meanwhile (the drain) stays closed.
        guard context.channel.isActive else { return }
        try? context.channel.syncOptions?.setOption(.autoRead, value: true)
    }
}
