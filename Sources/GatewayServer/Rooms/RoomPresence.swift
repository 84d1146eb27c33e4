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
/// The batch runs on the blocking pool (membership lives in SQLite); the timer on one event loop.
final class RoomPresence: Sendable {
    static let maxListed = 100

    private let changes: PresenceChanges
    private let store: RoomStore
    private let engine: any EventEngine
    private let online: @Sendable (String) -> Bool
    private let pool: NIOThreadPool
    private let logger: Logger
    private let defaultHost: String
    private let timer = RepeatedTaskBox()

    init(changes: PresenceChanges, store: RoomStore, engine: any EventEngine, online: @escaping @Sendable (String) -> Bool,
         pool: NIOThreadPool, defaultHost: String, logger: Logger) {
        self.changes = changes
        self.store = store
        self.engine = engine
        self.online = online
        self.pool = pool
        self.defaultHost = defaultHost
        self.logger = logger
    }

    func start(on loop: EventLoop, interval: TimeAmount = .seconds(1)) {
        let task = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in
            let batch = changes.take()
            guard !batch.joined.isEmpty || !batch.left.isEmpty else { return }
            pool.submit { [self] _ in announce(batch) }
        }
        timer.set(task)
    }

    func stop() { timer.cancel() }

    /// The online members of a room, sorted by id, after `after`, at most `limit`; and how many
    /// members are online in all.
    func onlineMembers(of members: [RoomMember], after: String?, limit: Int) -> (page: [String], total: Int) {
        let onlineIds = members.map(\.id).filter(online).sorted()
        let rest = after.map { cursor in onlineIds.filter { $0 > cursor } } ?? onlineIds
        return (Array(rest.prefix(limit)), onlineIds.count)
    }

    private func announce(_ batch: (joined: [String], left: [String])) {
        do throws(StoreError) {
            var perRoom: [String: (joined: [String], left: [String])] = [:]
            for id in batch.joined {
                for room in try store.roomIds(ofMember: id) { perRoom[room, default: ([], [])].joined.append(id) }
            }
            for id in batch.left {
                for room in try store.roomIds(ofMember: id) { perRoom[room, default: ([], [])].left.append(id) }
            }
            for (room, change) in perRoom.sorted(by: { $0.key < $1.key }) {
                let members = try store.members(of: room)
                let onlineCount = members.lazy.filter { self.online($0.member) }.count
                let recipients = members.filter { $0.presenceEvents && online($0.member) }.map(\.member)
                guard !recipients.isEmpty else { continue }
                send(room: room, change, onlineCount: onlineCount, to: recipients)
            }
        } catch {
            logger.warning("room presence batch not announced", metadata: ["error": "\(error)"])
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

/// The repeated task, set once at start and cancelled at shutdown from another thread.
final class RepeatedTaskBox: Sendable {
    private let task = NIOLockedValueBox<RepeatedTask?>(nil)
    func set(_ value: RepeatedTask) { task.withLockedValue { $0 = value } }
    func cancel() { task.withLockedValue { $0?.cancel(); $0 = nil } }
}
