import GatewayCore
import GatewayJSON
import GatewayStore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Presence in rooms: who of a room is online (`GET /api/v1/rooms/<id>/presence`, paged) and
/// `presence` frames to members who opted in (`"presence": true`).
///
/// Join/leave are batched, not sent one by one: every `interval` the net changes since the last
/// batch (PresenceChanges) become at most one frame per room, naming at most `maxListed` ids of
/// each kind plus the counts. So a room of 10,000 members where 500 connect in a second costs
/// each opted-in member one frame per second, not 500 — the scaling complaint about Phoenix,
/// Centrifugo and Soketi presence (one message per change to every member).
///
/// Who is online comes from the directory: this node's connections, or with the redis engine
/// every node's (a join on one node reaches members on every node through the engine's signals;
/// a principal connected to two nodes leaves only when it left both; a dead node's principals
/// leave once its heartbeat is older than `[engine] presence_ttl_seconds`).
///
/// The batch runs on the blocking pool (the store and the directory may wait), one at a time;
/// the timer on one event loop.
final class RoomPresence: Sendable {
    static let maxListed = 100

    private let changes: PresenceChanges
    private let store: any RoomStore
    private let directory: any PresenceDirectory
    private let engine: any EventEngine
    private let pool: NIOThreadPool
    private let logger: Logger
    private let defaultHost: String
    private let timer = RepeatedTaskBox()
    /// A batch is running: the next tick waits (its changes stay in `changes`), so batches are
    /// recorded in order.
    private let busy = NIOLockedValueBox(false)

    init(changes: PresenceChanges, store: any RoomStore, directory: any PresenceDirectory, engine: any EventEngine,
         pool: NIOThreadPool, defaultHost: String, logger: Logger) {
        self.changes = changes
        self.store = store
        self.directory = directory
        self.engine = engine
        self.pool = pool
        self.defaultHost = defaultHost
        self.logger = logger
    }

    func start(on loop: EventLoop, interval: TimeAmount = .seconds(1)) {
        let task = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in
            let idle = busy.withLockedValue { busy in
                defer { busy = true }
                return !busy
            }
            guard idle else { return }
            pool.submit { [self] _ in
                defer { busy.withLockedValue { $0 = false } }
                runBatch()
            }
        }
        timer.set(task)
    }

    func stop() { timer.cancel() }

    /// The online members of a room, sorted by id, after `after`, at most `limit`; and how many
    /// members are online in all.
    func onlineMembers(of members: [RoomMember], after: String?, limit: Int) throws(GatewayError) -> (page: [String], total: Int) {
        let online = try directory.online(members.map(\.id))
        let onlineIds = members.map(\.id).filter(online.contains).sorted()
        let rest = after.map { cursor in onlineIds.filter { $0 > cursor } } ?? onlineIds
        return (Array(rest.prefix(limit)), onlineIds.count)
    }

    private func runBatch() {
        let local = changes.take()
        guard !local.joined.isEmpty || !local.left.isEmpty || directory.needsHeartbeat else { return }
        let batch: (joined: [String], left: [String])
        do throws(GatewayError) {
            batch = try directory.update(joined: local.joined, left: local.left)
        } catch {
            changes.putBack(local)
            logger.warning("room presence not recorded; retrying next tick", metadata: ["error": "\(error)"])
            return
        }
        guard !batch.joined.isEmpty || !batch.left.isEmpty else { return }
        do throws(GatewayError) {
            try announce(batch)
        } catch {
            logger.warning("room presence batch not announced", metadata: ["error": "\(error)"])
        }
    }

    private func announce(_ batch: (joined: [String], left: [String])) throws(GatewayError) {
        var perRoom: [String: (joined: [String], left: [String])] = [:]
        for id in batch.joined {
            for room in try read({ () throws(StoreError) in try store.roomIds(ofMember: id) }) { perRoom[room, default: ([], [])].joined.append(id) }
        }
        for id in batch.left {
            for room in try read({ () throws(StoreError) in try store.roomIds(ofMember: id) }) { perRoom[room, default: ([], [])].left.append(id) }
        }
        for (room, change) in perRoom.sorted(by: { $0.key < $1.key }) {
            let members = try read { () throws(StoreError) in try store.members(of: room) }
            let online = try directory.online(members.map(\.member))
            let recipients = members.filter { $0.presenceEvents && online.contains($0.member) }.map(\.member)
            guard !recipients.isEmpty else { continue }
            send(room: room, change, onlineCount: online.count, to: recipients)
        }
    }

    private func read<T>(_ body: () throws(StoreError) -> T) throws(GatewayError) -> T {
        do throws(StoreError) { return try body() } catch {
            throw GatewayError(code: "room.store_unavailable", message: "\(error)", status: 503)
        }
    }

    private func send(room: String, _ change: (joined: [String], left: [String]), onlineCount: Int, to recipients: [String]) {
        let frame = JSON.object()
        frame.set("type", "presence")
        frame.set("room", room)
        frame.set("joined", .strings(Array(change.joined.prefix(Self.maxListed))))
        frame.set("left", .strings(Array(change.left.prefix(Self.maxListed))))
        frame.set("joined_count", .integer(change.joined.count))
        frame.set("left_count", .integer(change.left.count))
        frame.set("online", .integer(onlineCount))
        frame.set("host", defaultHost)
        frame.set("timestamp", ISOTimestamp.now())
        let event = Event(id: 0, host: defaultHost, senderId: "", category: "presence", targets: recipients, json: frame)
        engine.signal(OutboundEvent(event, chain: .empty))
    }
}

/// One node's presence: its own connections. Changes are the gateway's changes as they are.
struct LocalPresence: PresenceDirectory {
    let isOnline: @Sendable (String) -> Bool

    var needsHeartbeat: Bool { false }

    func update(joined: [String], left: [String]) throws(GatewayError) -> (joined: [String], left: [String]) { (joined, left) }

    func online(_ principals: [String]) throws(GatewayError) -> Set<String> { Set(principals.filter(isOnline)) }
}

/// The repeated task, set once at start and cancelled at shutdown from another thread.
final class RepeatedTaskBox: Sendable {
    private let task = NIOLockedValueBox<RepeatedTask?>(nil)
    func set(_ value: RepeatedTask) { task.withLockedValue { $0 = value } }
    func cancel() { task.withLockedValue { $0?.cancel(); $0 = nil } }
}
