import Foundation
import GatewayCore
import GatewayEngine
import GatewayJSON
import GatewayRedis
import Logging
import Synchronization
import Testing

/// Two engines on one real redis-server stand for two gateway nodes.
@Suite(.serialized) struct RedisEngineTests {
    @Test func anEventReachesEveryNodeOnceWithAGlobalIncreasingId() throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let (a, sinkA) = try node(redis)
        let (b, sinkB) = try node(redis)
        defer { a.stop(); b.stop() }

        var ids: [Int64] = []
        for number in 0..<20 {
            let node = number.isMultiple(of: 2) ? a : b
            ids.append(try publish(node, sender: "alice", targets: ["bob", "group:staff", "bob"], message: "m\(number)"))
        }
        #expect(ids == ids.sorted() && Set(ids).count == ids.count, "ids increase across nodes: \(ids)")
        for sink in [sinkA, sinkB] {
            try eventually("both nodes received all 20") { sink.events.count >= 20 }
            let received = sink.events
            #expect(received.map(\.id) == ids, "every node gets every event once, in id order")
            #expect(received.allSatisfy { $0.sender == "alice" && $0.targets == ["bob", "group:staff", "bob"] })
            let first = try JSON.parse(received[0].payload)
            #expect(first.view["id"].int == Int(ids[0]), "the id is spliced into the event")
            #expect(first.view["message"].string == "m0")
        }
        // One PUBLISH and one history append per distinct target principal, whatever the recipients.
        let stats = try redis.command(["INFO", "commandstats"])
        #expect(calls("publish", stats) == 20)
        #expect(calls("xadd", stats) == 40)
    }

    @Test func historyIsSharedMergedAndBounded() throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let (a, _) = try node(redis, perPrincipal: 5)
        let (b, _) = try node(redis, perPrincipal: 5)
        defer { a.stop(); b.stop() }
        let first = try publish(a, sender: "alice", targets: ["bob"], message: "one")
        let second = try publish(b, sender: "alice", targets: ["bob", "group:staff"], message: "two")
        _ = try publish(a, sender: "bob", targets: ["group:staff"], message: "bob's own")
        _ = try publish(a, sender: "alice", targets: ["bob"], message: "other host", host: "other.example")
        let third = try publish(b, sender: "carol", targets: ["group:staff"], message: "three")

        let missed = try history(b, after: 0, principals: ["bob", "group:staff"], excluding: "bob")
        #expect(missed.map(\.id) == [first, second, third], "merged by id, once each, own and other-host events left out")
        #expect(try history(a, after: first, principals: ["bob", "group:staff"], excluding: "bob").map(\.id) == [second, third])

        for number in 0..<10 { _ = try publish(a, sender: "alice", targets: ["dave"], message: "n\(number)") }
        let kept = try history(b, after: 0, principals: ["dave"], excluding: "dave")
        #expect(kept.count == 5, "each principal's stream keeps history.per_recipient events")
        #expect(kept.map(\.id) == kept.map(\.id).sorted())
    }

    /// Two nodes may take ids 5 and 6 and publish 6 first: "after event 6" means published
    /// after it, so a client that saw 6 (and not yet 5) gets 5 on resume.
    @Test func resumeFollowsPublishOrderNotIdOrder() throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let (a, sink) = try node(redis)
        let (b, _) = try node(redis)
        defer { a.stop(); b.stop() }
        let early = try a.allocateId()
        let late = try b.allocateId()
        try b.publish(id: late, host: "localhost", sender: "alice", targets: ["bob"], timestamp: ISOTimestamp.now(),
                      payload: Array("{\"id\":\(late)}".utf8))
        try a.publish(id: early, host: "localhost", sender: "alice", targets: ["bob"], timestamp: ISOTimestamp.now(),
                      payload: Array("{\"id\":\(early)}".utf8))
        try eventually("both delivered") { sink.events.count == 2 }
        #expect(sink.events.map(\.id) == [late, early], "delivered in publish order")
        #expect(try history(b, after: late, principals: ["bob"], excluding: "bob").map(\.id) == [early])
        #expect(try history(b, after: early, principals: ["bob"], excluding: "bob").isEmpty)
    }

    /// More was missed than a stream keeps: the resume gets the newest kept events, in order.
    @Test func resumeAfterAnEventTheStreamNoLongerHolds() throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let (a, _) = try node(redis, perPrincipal: 20)
        defer { a.stop() }
        var ids: [Int64] = []
        for number in 0..<50 { ids.append(try publish(a, sender: "app", targets: ["bob", "carol"], message: "n\(number)")) }
        let resumed = try history(a, after: ids[4], principals: ["bob"], excluding: "bob")
        #expect(resumed.map(\.id) == Array(ids.suffix(20)))
    }

    @Test func redisDownRefusesThenRecoversWithIdsStillIncreasing() throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        let (a, sink) = try node(redis)
        defer { a.stop() }
        let before = try publish(a, sender: "alice", targets: ["bob"], message: "before")
        try eventually("delivered") { sink.events.count == 1 }

        redis.stop()
        try eventually("the engine notices") { !a.status.isHealthy }
        switch publishResult(a, sender: "alice", targets: ["bob"], message: "while down") {
        case .success(let id): Issue.record("a publish while Redis is down was acknowledged with id \(id)")
        case .failure(let error):
            #expect(error.code == "engine.unavailable")
            #expect(error.status == 503)
        }

        try redis.start()   // empty: no persistence, a restart loses everything
        try eventually("reconnected") { a.status.isHealthy }
        let after = try publish(a, sender: "alice", targets: ["bob"], message: "after")
        #expect(after > before, "ids keep increasing after Redis lost its counter")
        try eventually("delivered after the restart") { sink.events.last?.id == after }
        #expect(sink.events.map(\.id) == [before, after], "the refused event was never delivered")
    }

    /// Node B loses Redis (its user is disabled and its connections killed) while A publishes:
    /// when B is back, it finds that the sequence moved past what it received and asks its
    /// connections to resume from history. A reconnect with nothing missed does not.
    @Test func aNodeThatMissedEventsWhileDisconnectedResynchronizes() throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        try redis.command(["ACL", "SETUSER", "nodeb", "on", ">pw", "~*", "&*", "+@all"])
        let (a, _) = try node(redis)
        let sinkB = RecordingSink()
        let b = RedisEngine(settings: .init(endpoint: RedisEndpoint(host: "127.0.0.1", port: redis.port, username: "nodeb", password: "pw"),
                                            historyPerPrincipal: 50),
                            logger: Self.logger, local: sinkB)
        try b.start()
        defer { a.stop(); b.stop() }
        try eventually("B healthy") { b.status.isHealthy }
        _ = try publish(a, sender: "alice", targets: ["bob"], message: "seen by both")
        try eventually("B received it") { sinkB.events.count == 1 }

        // Nothing missed: B's connections drop and come back, no resync.
        try redis.command(["CLIENT", "KILL", "USER", "nodeb"])
        try eventually("B notices") { !b.status.isHealthy }
        try eventually("B back") { b.status.isHealthy }
        #expect(sinkB.resyncs == 0)

        try redis.command(["ACL", "SETUSER", "nodeb", "off"])
        try redis.command(["CLIENT", "KILL", "USER", "nodeb"])
        try eventually("B is cut off") { !b.status.isHealthy }
        for number in 0..<3 { _ = try publish(a, sender: "alice", targets: ["bob"], message: "missed \(number)") }
        try redis.command(["ACL", "SETUSER", "nodeb", "on"])
        try eventually("B back again") { b.status.isHealthy }
        try eventually("B asked its connections to resume") { sinkB.resyncs == 1 }
        #expect(sinkB.events.count == 1, "the missed events did not arrive live")
        let after = try publish(a, sender: "alice", targets: ["bob"], message: "live again")
        try eventually("live delivery resumed") { sinkB.events.last?.id == after }
        #expect(sinkB.resyncs == 1)
    }

    @Test func backoffDoublesWithJitterUpToTheMaximumAndResets() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        var generator = SystemRandomNumberGenerator()
        let delays = (0..<6).map { _ in backoff.delay(using: &generator) }
        let bases: [Duration] = [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)]
        for (delay, base) in zip(delays, bases) {
            #expect(delay >= base * 0.8 && delay <= base * 1.2, "\(delay) within ±20 % of \(base)")
        }
        backoff.reset()
        let first = backoff.delay(using: &generator)
        #expect(first <= .milliseconds(120))
    }

    @Test func aRefusedPasswordIsAnErrorAtStart() throws {
        let redis = try RedisServer(arguments: ["--requirepass", "right"])
        defer { redis.stop() }
        var endpoint = RedisEndpoint(host: "127.0.0.1", port: redis.port, password: "wrong")
        let engine = RedisEngine(settings: .init(endpoint: endpoint, historyPerPrincipal: 10), logger: Self.logger, local: RecordingSink())
        #expect(throws: RedisConnectionError.self) { try engine.start() }
        endpoint.password = "right"
        let good = RedisEngine(settings: .init(endpoint: endpoint, historyPerPrincipal: 10), logger: Self.logger, local: RecordingSink())
        try good.start()
        defer { good.stop() }
        try eventually("healthy with the right password") { good.status.isHealthy }
    }

    @Test func envelopeRoundTripAndMalformedMessages() throws {
        let message = Array("3\n{\"id\":7,\"host\":\"h\",\"sender\":\"s\",\"targets\":[\"a\"],\"timestamp\":\"t\"}\n{\"id\":7}".utf8)
        let envelope = try RedisEnvelope.decode(message)
        #expect(envelope.sequence == 3 && envelope.id == 7 && envelope.host == "h" && envelope.targets == ["a"] && envelope.payload == Array("{\"id\":7}".utf8))
        for bad in ["", "x\n{}\n{}", "1\nnot json\n{}", "1\n{\"host\":\"h\"}\n{}", "12"] {
            #expect(throws: RedisEnvelope.DecodeError.self) { try RedisEnvelope.decode(Array(bad.utf8)) }
        }
    }

    // MARK: Helpers

    static let logger: Logger = {
        var logger = Logger(label: "engine-test")
        logger.logLevel = .error
        return logger
    }()

    private func node(_ redis: RedisServer, perPrincipal: Int = 50) throws -> (RedisEngine, RecordingSink) {
        let sink = RecordingSink()
        let engine = RedisEngine(settings: .init(endpoint: RedisEndpoint(host: "127.0.0.1", port: redis.port),
                                                 historyPerPrincipal: perPrincipal),
                                 logger: Self.logger, local: sink)
        try engine.start()
        try eventually("engine healthy") { engine.status.isHealthy }
        return (engine, sink)
    }

    private func publishResult(_ engine: RedisEngine, sender: String, targets: [String], message: String,
                               host: String = "localhost") -> Result<Int64, GatewayError> {
        Result { () throws(GatewayError) -> Int64 in
            let id = try engine.allocateId()
            let event = JSON.object()
            event.set("id", .integer(Int(id)))
            event.set("category", "chat.message")
            event.set("message", message)
            event.set("host", host)
            try engine.publish(id: id, host: host, sender: sender, targets: targets, timestamp: ISOTimestamp.now(),
                               payload: event.encoded())
            return id
        }
    }

    private func publish(_ engine: RedisEngine, sender: String, targets: [String], message: String,
                         host: String = "localhost") throws -> Int64 {
        try publishResult(engine, sender: sender, targets: targets, message: message, host: host).get()
    }

    private func history(_ engine: RedisEngine, after id: Int64, principals: [String], excluding: String) throws -> [RedisEnvelope] {
        try engine.history(after: id, principals: principals, host: "localhost", excludingSender: excluding, limit: 50)
    }

    private func calls(_ command: String, _ stats: String) -> Int {
        for line in stats.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_\(command):calls=") {
            return Int(line.dropFirst("cmdstat_\(command):calls=".count).prefix(while: \.isNumber)) ?? -1
        }
        return 0
    }
}

final class RecordingSink: RedisLocalDelivery {
    private let state = Mutex<(events: [RedisEnvelope], resyncs: Int)>(([], 0))
    var events: [RedisEnvelope] { state.withLock { $0.events } }
    var resyncs: Int { state.withLock { $0.resyncs } }
    func deliver(_ envelope: RedisEnvelope) { state.withLock { $0.events.append(envelope) } }
    func resynchronize(reason: String) { state.withLock { $0.resyncs += 1 } }
}

