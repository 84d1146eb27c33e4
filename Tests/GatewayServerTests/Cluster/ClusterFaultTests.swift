import Foundation
import GatewayChatClient
import GatewayJSON
import NIOCore
import Synchronization
import Testing

/// Faults with real processes: Redis restarted under load, a node killed with SIGKILL. The
/// promise under test: an event acknowledged with 202 reaches its recipient (once), whatever
/// happens; an event that cannot be taken is refused with 503 engine.unavailable.
@Suite(.serialized) struct ClusterFaultTests {
    @Test func redisRestartUnderLoad() async throws {
        let cluster = try TestCluster()
        defer { cluster.stop() }
        let (n0, n1, n2) = (cluster.nodes[0], cluster.nodes[1], cluster.nodes[2])
        let subscribers = [ResumingSubscriber(nodes: [n1, n2], token: n1.token("bob")),
                           ResumingSubscriber(nodes: [n2, n1], token: n2.token("bob"))]
        for subscriber in subscribers { try await subscriber.start() }
        let publisher = LoadPublisher(node: n0, token: n0.token("app", publish: true))
        publisher.start()

        try await eventually("some events acknowledged") { publisher.acknowledged.count >= 20 }
        cluster.redis.stop()
        try await eventually("every node reports degraded") {
            try cluster.nodes.allSatisfy { node in
                let health = try node.health()
                return health.code == 503 && health.status == "degraded"
            }
        }
        try await eventually("a publish refused while Redis is down") { publisher.refusals.count >= 3 }
        for refusal in publisher.refusals {
            #expect(refusal.code == "engine.unavailable", "\(refusal)")
            #expect(refusal.retryAfter != nil, "503 carries Retry-After")
        }
        try cluster.redis.start()
        try await eventually("every node healthy again") { try cluster.nodes.allSatisfy { try $0.health().code == 200 } }
        let acknowledgedBefore = publisher.acknowledged.count
        try await eventually("publishing works again") { publisher.acknowledged.count >= acknowledgedBefore + 20 }
        publisher.stop()
        publisher.waitUntilStopped()
        let running = cluster.nodes.allSatisfy { $0.isRunning }
        #expect(running, "no node crashed")

        let acknowledged = publisher.acknowledged
        for subscriber in subscribers {
            try await subscriber.waitUntilReceived(acknowledged.last!)
            let received = subscriber.received
            #expect(Set(received).count == received.count, "no event twice")
            let missing = Set(acknowledged).subtracting(received)
            #expect(missing.isEmpty, "acknowledged but never delivered: \(missing.sorted()); reconnects \(subscriber.reconnects), errors \(subscriber.errors), received around the gap: \(received.filter { id in missing.contains(where: { abs($0 - id) < 3 }) })")
            await subscriber.stop()
        }
    }

    /// Typing and read signals while Redis is down: the sender gets an engine.unavailable error
    /// frame instead of the ack (never a silent drop), recipients on the sender's node still get
    /// the signal, recipients on other nodes cannot; once Redis is back signals cross nodes again.
    @Test func signalsWhileRedisIsDownTellTheSenderAndReachThisNode() async throws {
        let cluster = try TestCluster(nodes: 2)
        defer { cluster.stop() }
        let (n0, n1) = (cluster.nodes[0], cluster.nodes[1])
        let alice = try await n0.connect(n0.token("alice"))
        let bobHere = try await n0.connect(n0.token("bob"))
        let bobThere = try await n1.connect(n1.token("bob"))

        cluster.redis.stop()
        // Both connections of each node must know (the command connection notices by its ping),
        // so the signal is refused at once rather than lost on a dead socket.
        try await eventually("every node sees both Redis connections down") {
            try cluster.nodes.allSatisfy { node in
                let reason = try node.http("GET", "/healthz").json().view["engine"]["reason"].string ?? ""
                return reason.contains("commands") && reason.contains("subscription")
            }
        }

        try await alice.sendJSON(#"{"type":"typing","ref":"t1","target":{"principals":["bob"]}}"#)
        let refusal = try await alice.nextJSON()
        #expect(refusal.view["type"].string == "error", "\(refusal.encodedString())")
        #expect(refusal.view["ref"].string == "t1")
        #expect(refusal.view["error"]["code"].string == "engine.unavailable")
        #expect(refusal.view["error"]["message"].string?.contains("this gateway node") == true)
        let typing = try await bobHere.nextJSON()
        #expect(typing.view["type"].string == "typing" && typing.view["source"]["id"].string == "alice",
                "\(typing.encodedString())")

        try await alice.sendJSON(#"{"type":"read","ref":"r1","id":7,"target":{"principals":["bob"]}}"#)
        let readRefusal = try await alice.nextJSON()
        #expect(readRefusal.view["type"].string == "error" && readRefusal.view["ref"].string == "r1")
        #expect(readRefusal.view["error"]["code"].string == "engine.unavailable")
        let read = try await bobHere.nextJSON()
        #expect(read.view["type"].string == "read" && read.view["id"].int == 7)
        try await bobThere.expectSilence(for: .seconds(1))   // the other node could not hear of them

        try cluster.redis.start()
        try await eventually("every node healthy again") { try cluster.nodes.allSatisfy { try $0.health().code == 200 } }
        // Fresh connections: a node that was cut off may close its clients with 1012 to resume.
        let aliceAgain = try await n0.connect(n0.token("alice"))
        let bobAgain = try await n1.connect(n1.token("bob"))
        try await aliceAgain.sendJSON(#"{"type":"typing","ref":"t2","target":{"principals":["bob"]}}"#)
        let ack = try await aliceAgain.nextJSON()
        #expect(ack.view["type"].string == "ack" && ack.view["ref"].string == "t2", "\(ack.encodedString())")
        let crossed = try await bobAgain.nextJSON()
        #expect(crossed.view["type"].string == "typing" && crossed.view["source"]["id"].string == "alice")
    }

    @Test func aKilledNodesClientsResumeOnAnotherNodeAndLoseNothing() async throws {
        let cluster = try TestCluster()
        defer { cluster.stop() }
        let (n0, n1, n2) = (cluster.nodes[0], cluster.nodes[1], cluster.nodes[2])
        let subscribers = try await [ResumingSubscriber(nodes: [n1, n2], token: n1.token("bob")),
                                     ResumingSubscriber(nodes: [n1, n2], token: n1.token("carol"))].asyncMap { subscriber in
            try await subscriber.start()
            return subscriber
        }
        let publisher = LoadPublisher(node: n0, token: n0.token("app", publish: true), targets: ["bob", "carol"])
        publisher.start()

        try await eventually("some events acknowledged") { publisher.acknowledged.count >= 30 }
        n1.kill(SIGKILL)
        try await eventually("every subscriber moved to another node") { subscribers.allSatisfy { $0.reconnects >= 1 } }
        let acknowledgedAtKill = publisher.acknowledged.count
        try await eventually("publishing went on") { publisher.acknowledged.count >= acknowledgedAtKill + 30 }
        publisher.stop()
        publisher.waitUntilStopped()
        #expect(publisher.refusals.isEmpty, "the publishing node never refused: \(publisher.refusals)")

        let acknowledged = publisher.acknowledged
        for subscriber in subscribers {
            try await subscriber.waitUntilReceived(acknowledged.last!)
            #expect(subscriber.received == acknowledged, "every acknowledged event, once, in order")
            await subscriber.stop()
        }
    }
}

/// Publishes over HTTP in a loop until stopped, keeping what was acknowledged (202, in order)
/// and what was refused.
final class LoadPublisher: Sendable {
    struct Refusal: Sendable, CustomStringConvertible {
        let status: Int
        let code: String?
        let retryAfter: String?
        var description: String { "\(status) \(code ?? "-") Retry-After: \(retryAfter ?? "-")" }
    }

    private let node: GatewayNodeProcess
    private let token: String
    private let targets: [String]
    private let state = Mutex<(acknowledged: [Int], refusals: [Refusal], stopped: Bool)>(([], [], false))

    init(node: GatewayNodeProcess, token: String, targets: [String] = ["bob"]) {
        self.node = node
        self.token = token
        self.targets = targets
    }

    var acknowledged: [Int] { state.withLock { $0.acknowledged } }
    var refusals: [Refusal] { state.withLock { $0.refusals } }
    func stop() { state.withLock { $0.stopped = true } }
    private let finished = DispatchSemaphore(value: 0)

    /// Publishes on a thread of its own (blocking HTTP calls stay off the cooperative pool).
    func start() {
        Thread.detachNewThread { [self] in
            run()
            finished.signal()
        }
    }

    func waitUntilStopped() { finished.wait() }

    private func run() {
        let principals = targets.map { "\"\($0)\"" }.joined(separator: ",")
        var number = 0
        while !state.withLock({ $0.stopped }) {
            number += 1
            let body = #"{"category":"chat.message","message":"load \#(number)","target":{"principals":[\#(principals)]}}"#
            guard let response = try? node.publish(body, token: token) else {
                Thread.sleep(forTimeInterval: 0.01)
                continue
            }
            if response.status == 202, let id = (try? response.json())?.view["id"].int {
                state.withLock { $0.acknowledged.append(id) }
            } else {
                let refusal = Refusal(status: response.status, code: response.errorCode, retryAfter: response.header("Retry-After"))
                state.withLock { $0.refusals.append(refusal) }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
    }
}

/// A client that behaves as the protocol asks: on a closed connection it reconnects — to the
/// next node when its node is gone — with `?last_id=` of the last event it received; when a
/// resume answers `history.unavailable` (Redis was not reachable for the read), it resumes
/// again from the same id, ignoring what it already has.
final class ResumingSubscriber: Sendable {
    private let nodes: [GatewayNodeProcess]
    private let token: String
    private let state = Mutex<(received: [Int], reconnects: Int, stopped: Bool, resumeFrom: Int?, retrying: Bool)>(([], 0, false, nil, false))
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(nodes: [GatewayNodeProcess], token: String) {
        self.nodes = nodes
        self.token = token
    }

    var received: [Int] { state.withLock { $0.received } }
    var reconnects: Int { state.withLock { $0.reconnects } }
    /// Error codes and close codes seen, for failure messages.
    var errors: [String] { notes.withLock { $0 } }
    private let notes = Mutex<[String]>([])

    /// Connects to the first node (so the test knows it is registered), then reads in the background.
    func start() async throws {
        let first = try await nodes[0].connect(token)
        let running = Task.detached { await self.read(first) }
        task.withLock { $0 = running }
    }

    func stop() async {
        state.withLock { $0.stopped = true }
        await task.withLock { $0 }?.value
    }

    func waitUntilReceived(_ id: Int) async throws {
        for _ in 0..<600 {
            if received.contains(id) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("event \(id) never arrived; received \(received.count) events")
    }

    private func read(_ first: WebSocketClient) async {
        var client: WebSocketClient? = first
        var nodeIndex = 0
        while !state.withLock({ $0.stopped }) {
            guard let current = client else {
                // Reconnect: this node first, then the others, with the last id seen (or the
                // id a failed resume started from).
                let lastId = state.withLock { state -> Int? in
                    let from = state.retrying ? state.resumeFrom : state.received.last
                    state.resumeFrom = from
                    return from
                }
                for attempt in 0..<nodes.count {
                    let node = nodes[(nodeIndex + attempt) % nodes.count]
                    guard node.isRunning else { continue }
                    if let connected = try? await node.connect(token, query: lastId.map { "last_id=\($0)" } ?? "") {
                        client = connected
                        nodeIndex = (nodeIndex + attempt) % nodes.count
                        state.withLock { $0.reconnects += 1 }
                        break
                    }
                }
                if client == nil { try? await Task.sleep(for: .milliseconds(100)) }
                continue
            }
            do {
                let message = try await current.next(timeout: .milliseconds(500))
                switch message {
                case .text(let text):
                    guard let frame = try? JSON.parse(text) else { break }
                    if frame.view["type"].string == nil, let id = frame.view["id"].int {
                        state.withLock { state in
                            // After a failed resume, the retry repeats what arrived live meanwhile.
                            if !(state.retrying && state.received.contains(id)) { state.received.append(id) }
                        }
                    } else if let code = frame.view["error"]["code"].string {
                        notes.withLock { $0.append(code) }
                        guard code == "history.unavailable" else { break }
                        state.withLock { $0.retrying = true }
                        await current.close()
                        client = nil
                    }
                case .close, .disconnected:
                    notes.withLock { $0.append("\(message)") }
                    await current.close()
                    client = nil
                default:
                    break
                }
            } catch let error as WebSocketClientError where error.code == "ws_client.timeout" {
                continue
            } catch {
                client = nil
            }
        }
        await client?.close()
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
