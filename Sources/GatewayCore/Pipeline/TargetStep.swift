import GatewayJSON

/// Step 3: who receives the event. The publisher's explicit `target` — principals, and the
/// members of the rooms it names (RoomTargets, which also refuses a publisher that is not a
/// member; whether its member state lets it write is GuardStep's decision) —
/// else the union of what the category-targets plugins compute (written into the event's
/// `target`), else a refusal.
public struct TargetStep: Sendable {
    private let rooms: (any RoomTargets)?

    public init(rooms: (any RoomTargets)? = nil) {
        self.rooms = rooms
    }

    public struct Resolved: Sendable {
        /// Every principal the event is delivered to (and recorded in history for).
        public let principals: [String]
        /// The rooms the event was sent to (empty for a principals-only event).
        public let rooms: [String]
        /// The publisher's membership in each of `rooms` (empty for a trusted publisher).
        public var memberships: [RoomMembership] = []
    }

    /// Room targets read SQLite: an event naming rooms runs the pipeline on the blocking pool.
    public func needsBlockingWork(_ input: JSONView) -> Bool { input["target"]["rooms"].exists }

    public func run(_ event: JSON, chain: PluginChain, publisher: Publisher) throws(GatewayError) -> Resolved {
        let view = event.view
        let target = view["target"]
        if let roomIds = target["rooms"].strings {
            guard let rooms else {
                throw GatewayError(code: "event.rooms_unavailable", message: "This gateway has no rooms store; address principals instead.", status: 422)
            }
            guard !roomIds.isEmpty, roomIds.count <= 16 else {
                throw .invalidEvent("bad_target", "'target.rooms' must name 1 to 16 rooms.")
            }
            var principals = target["principals"].strings ?? []
            var seen = Set(principals)
            let recipients = try rooms.recipients(ofRooms: roomIds, publisher: publisher)
            for member in recipients.principals where seen.insert(member).inserted {
                principals.append(member)
            }
            return Resolved(principals: principals, rooms: roomIds, memberships: recipients.memberships)
        }
        if let explicit = target["principals"].strings { return Resolved(principals: explicit, rooms: []) }
        if let computed = chain.targets(for: view) {
            event.set("target", EventNormalizer.targetObject(computed))
            return Resolved(principals: computed, rooms: [])
        }
        let category = view["category"].string ?? ""
        throw GatewayError(code: "event.no_targets",
                           message: "The event has no 'target' and no category-targets plugin handles category '\(category)'. Give {\"target\": {\"principals\": [...]}} or configure a plugin for it.",
                           status: 422)
    }

    /// After the engine took the event: room history and unread counts.
    func delivered(_ event: Event, payload: [UInt8], rooms roomIds: [String]) {
        guard !roomIds.isEmpty, let rooms else { return }
        rooms.delivered(event, payload: payload, rooms: roomIds)
    }
}
