import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// The shape of a publishing scenario: who subscribes and where each event goes.
struct LoadShape: Sendable {
    var name: String
    var subscribers: Int
    var subscriberAudience: @Sendable (Int) -> Audience
    /// Picks the audience of event `sequence` among the subscribers that did connect.
    var eventAudience: @Sendable (_ sequence: Int, _ connected: [Int]) -> Audience
    /// True: every live subscriber receives every event. False: one recipient per event.
    var broadcast: Bool
    /// Outstanding-events window when --rate 0 and no --window is given.
    var defaultWindowEvents: Int
    /// When not broadcast: given the subscribers that connected, how many of them an event to
    /// an audience reaches (nil: one, the personal case).
    var recipientCounter: (@Sendable (_ connected: [Int]) -> @Sendable (Audience) -> Int)? = nil
    /// Recipients of a typical event, to size the outstanding-deliveries window (not broadcast).
    var typicalRecipients = 1
}

/// Something that runs alongside the publishing window (the reload scenario's SIGHUPs).
protocol LoadSideEffect: AnyObject {
    func start(on loop: EventLoop)
    func stop()
    func report(into report: inout Report, published: Int)
}

/// Connect, settle, publish, drain, report: the common body of fanout, personal and reload.
struct LoadRun {
    let connection: ConnectionOptions
    let load: LoadOptions
    /// Several gateway nodes: subscriber i connects to port i % count (publishing stays on
    /// `connection.port`). nil: every subscriber on `connection.port`.
    var subscriberPorts: [Int]? = nil

    func execute(_ shape: LoadShape, sideEffect: LoadSideEffect? = nil) throws -> Report {
        let fileLimit = ProcessProbe.raiseOpenFileLimit()
        guard shape.subscribers + load.publishConnections + 64 <= fileLimit else {
            throw BenchError.invalidOption("\(shape.subscribers) subscribers need more open files than the limit \(fileLimit)")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: connection.threads)
        defer { try? group.syncShutdownGracefully() }
        let target = connection.target()
        let stats = DeliveryStats()
        let recorders = LatencyRecorders(group: group)
        let connector = try SubscriberConnector(group: group, target: target, options: connection, stats: stats, recorders: recorders,
                                                ports: subscriberPorts)
        defer { connector.closeAll() }

        let connected = connector.connect(count: shape.subscribers, audience: shape.subscriberAudience)
        guard !connected.connectedIndices.isEmpty else {
            throw connected.noneConnectedError
        }
        let publisher = Publisher(loop: group.next(), target: target, stats: stats)
        do { try publisher.connect(count: load.publishConnections) } catch {
            throw BenchError.publishFailed("cannot open a publishing connection: \(error)")
        }
        defer { publisher.closeAll() }
        Thread.sleep(forTimeInterval: connection.settle)

        let indices = connected.connectedIndices
        let windowEvents = load.window ?? (load.rate > 0 ? Int.max / 4 : shape.defaultWindowEvents)
        let perEvent = shape.broadcast ? indices.count : shape.typicalRecipients
        let recipientsNow: @Sendable (Audience) -> Int
        if shape.broadcast {
            recipientsNow = { @Sendable _ in stats.liveConnections.load(ordering: .relaxed) }
        } else if let counter = shape.recipientCounter {
            recipientsNow = counter(indices)
        } else {
            recipientsNow = { @Sendable _ in 1 }
        }
        let plan = PublishPlan(
            rate: load.rate,
            durationSeconds: load.duration,
            maxOutstandingDeliveries: windowEvents >= Int.max / 4 ? Int.max : windowEvents * perEvent,
            padding: String(repeating: "p", count: load.payloadPadding),
            audience: { shape.eventAudience($0, indices) },
            recipientsNow: recipientsNow
        )
        sideEffect?.start(on: group.next())
        // After the side effect's start: the hostile attack's lead is not part of the window, so
        // both runs' CPU figures cover the same publishing time.
        let cpu = try CPUWindow(serverPid: connection.serverPid)
        let published = try publisher.run(plan).wait()
        // Side effects belong to the publishing window; the drain only collects what is in flight.
        sideEffect?.stop()
        let drainDeadline = Date().addingTimeInterval(load.drainTimeout)
        while stats.received.load(ordering: .relaxed) < published.expectedDeliveries, Date() < drainDeadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        var report = Report(scenario: shape.name, server: connection.server)
        let latency = try recorders.merged()
        let received = stats.received.load(ordering: .relaxed)

        report.add("subscribers", .int(shape.subscribers))
        report.add("connected", .int(indices.count))
        report.add("connect_failed", .int(connected.failed))
        if let firstError = connected.firstError { report.add("connect_error", .string(firstError)) }
        report.add("connect_s", .double(connected.seconds))
        report.add("rate_target", .double(load.rate))
        report.add("published", .int(published.accepted))
        report.add("publish_rejected", .int(published.rejected))
        if let rejection = published.firstRejection { report.add("publish_error", .string(rejection)) }
        let publishSeconds = Double(published.lastSendNanos &- published.firstSendNanos) / 1e9
        report.add("publish_reconnects", .int(published.reconnects))
        report.add("publish_rate", .double(publishSeconds > 0 ? Double(published.accepted) / publishSeconds : 0))
        report.add("expected", .int(published.expectedDeliveries))
        report.add("received", .int(received))
        report.add("lost", .int(Swift.max(0, published.expectedDeliveries - received)))
        report.add("extra", .int(Swift.max(0, received - published.expectedDeliveries)))
        let deliverySeconds = Double(latency.lastReceiveNanos &- published.firstSendNanos) / 1e9
        report.add("deliveries_per_s", .double(received > 0 && deliverySeconds > 0 ? Double(received) / deliverySeconds : 0))
        report.add("p50_ms", .double(Double(latency.histogram.valueAtPercentile(50)) / 1000))
        report.add("p99_ms", .double(Double(latency.histogram.valueAtPercentile(99)) / 1000))
        report.add("p999_ms", .double(Double(latency.histogram.valueAtPercentile(99.9)) / 1000))
        report.add("max_ms", .double(Double(latency.histogram.max) / 1000))
        report.add("dropped_connections", .int(stats.droppedConnections.load(ordering: .relaxed)))
        report.add("unmarked_frames", .int(stats.unmarkedFrames.load(ordering: .relaxed)))
        report.add("close_frames", .int(stats.closeFramesFromServer.load(ordering: .relaxed)))
        sideEffect?.report(into: &report, published: published.accepted)
        cpu.report(into: &report, deliveries: received)
        return report
    }
}
