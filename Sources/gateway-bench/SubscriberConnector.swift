import Dispatch
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

struct ConnectSummary {
    var connectedIndices: [Int] = []
    var failed = 0
    var firstError: String?
    /// The first failure when it was one of the bench's own (e.g. an HTTP 401 on upgrade).
    var firstBenchError: BenchError?
    var seconds = 0.0

    /// The error to report when no subscriber connected: the bench's own code when it has one.
    var noneConnectedError: BenchError {
        firstBenchError ?? BenchError.connectFailed(firstError ?? "unknown error")
    }
}

/// Opens many WebSocket subscribers with a bounded number of attempts in flight, spreading
/// them over source addresses 127.0.0.1, .2, ... so one address never runs out of ports.
final class SubscriberConnector: Sendable {
    private let group: EventLoopGroup
    private let target: ServerTarget
    private let options: ConnectionOptions
    private let stats: DeliveryStats
    private let recorders: LatencyRecorders
    private let channels = Mutex<[Channel]>([])
    /// Subscriber i connects to address i % count: one address, or several gateway nodes.
    private let serverAddresses: [SocketAddress]
    private static let upgradeTimeoutSeconds = 15

    init(group: EventLoopGroup, target: ServerTarget, options: ConnectionOptions, stats: DeliveryStats, recorders: LatencyRecorders,
         ports: [Int]? = nil) throws {
        do {
            self.serverAddresses = try (ports ?? [target.port]).map { try SocketAddress(ipAddress: target.host, port: $0) }
        } catch {
            throw BenchError.invalidOption("--host must be an IP address, got \(target.host)")
        }
        self.group = group
        self.target = target
        self.options = options
        self.stats = stats
        self.recorders = recorders
    }

    /// Blocks until every attempt has succeeded or failed. Call from a thread outside the group.
    func connect(count: Int, audience: (Int) -> Audience) -> ConnectSummary {
        let started = realtimeNanos()
        let permits = DispatchSemaphore(value: options.connectConcurrency)
        let allDone = DispatchGroup()
        let summary = Mutex(ConnectSummary())
        for index in 0..<count {
            permits.wait()
            allDone.enter()
            let request = target.subscribeRequest(for: audience(index))
            connectOne(index: index, uri: request.uri, headers: request.headers).whenComplete { result in
                summary.withLock { summary in
                    switch result {
                    case .success: summary.connectedIndices.append(index)
                    case .failure(let error):
                        summary.failed += 1
                        if summary.firstError == nil {
                            summary.firstError = "\(error)"
                            summary.firstBenchError = error as? BenchError
                        }
                    }
                }
                permits.signal()
                allDone.leave()
            }
        }
        allDone.wait()
        var result = summary.withLock { $0 }
        result.connectedIndices.sort()
        result.seconds = Double(realtimeNanos() - started) / 1e9
        return result
    }

    /// Closes every subscriber; closes from here on are not counted as drops.
    func closeAll() {
        stats.stopping.store(true, ordering: .relaxed)
        let open = channels.withLock { channels -> [Channel] in
            defer { channels.removeAll() }
            return channels
        }
        let closes = open.map { $0.close().recover { _ in } }
        if let loop = open.first?.eventLoop {
            _ = try? EventLoopFuture.andAllComplete(closes, on: loop).wait()
        }
    }

    private func sourceAddress(for index: Int) throws -> SocketAddress {
        let octet = 1 + index / options.connectionsPerSource
        guard octet <= 254 else {
            throw BenchError.invalidOption("too many subscribers for --connections-per-source \(options.connectionsPerSource)")
        }
        return try SocketAddress(ipAddress: "127.0.0.\(octet)", port: 0)
    }

    private func connectOne(index: Int, uri: String, headers: HTTPHeaders) -> EventLoopFuture<Void> {
        let loop = group.next()
        let source: SocketAddress
        do { source = try sourceAddress(for: index) } catch { return loop.makeFailedFuture(error) }
        // Settled on `loop` only (the channel's loop: initializer, timeout, connect callbacks).
        // Made here, off the loop: a box the value is sent into (NIOLoopBound.init would trap).
        let outcome = NIOLoopBoundBox.makeBoxSendingValue(UpgradeOutcome(promise: loop.makePromise(of: Void.self)), eventLoop: loop)
        let stats = self.stats
        let recorders = self.recorders
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.seconds(10))
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            // Without IP_BIND_ADDRESS_NO_PORT (24), bind() to an address with port 0 searches the
            // ephemeral range for a port unused by every socket on that address: slower and slower
            // as thousands are open. With it the kernel picks the port at connect() time.
            .channelOption(.ipOption(NIOBSDSocket.Option(rawValue: 24)), value: 1)
            .bind(to: source)
            .channelInitializer { channel in
                channel.eventLoop.scheduleTask(in: .seconds(Int64(Self.upgradeTimeoutSeconds))) {
                    if !outcome.value.isDone {
                        outcome.value.fail(BenchError.upgradeTimeout(seconds: Self.upgradeTimeoutSeconds))
                        channel.close(promise: nil)
                    }
                }
                let handler = SubscriberHandler(
                    uri: uri, headers: headers, outcome: outcome.value, stats: stats,
                    recorder: recorders.recorder(for: channel.eventLoop)
                )
                return channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
        return bootstrap.connect(to: serverAddresses[index % serverAddresses.count])
            .flatMap { channel in
                outcome.value.promise.futureResult.map {
                    self.channels.withLock { $0.append(channel) }
                }
            }
            .flatMapError { error in
                outcome.value.fail(error)
                return loop.makeFailedFuture(error)
            }
    }
}
