import NIOConcurrencyHelpers

/// Principals (identities, and the groups their tokens carry) that came online or went offline
/// on this node since the last look: the fan-out notes each first connection and each last
/// disconnection of a principal (on its event loop, one short lock), and room presence takes the
/// net changes in batches (RoomPresence).
///
/// Net: a principal that connects and disconnects within one batch is not reported at all.
final class PresenceChanges: Sendable {
    private let pending = NIOLockedValueBox<[String: (wasOnline: Bool, isOnline: Bool)]>([:])

    func noteOnline(_ id: String) { note(id, online: true) }
    func noteOffline(_ id: String) { note(id, online: false) }

    private func note(_ id: String, online: Bool) {
        pending.withLockedValue { table in
            if let entry = table[id] {
                table[id] = (entry.wasOnline, online)
            } else {
                table[id] = (!online, online)
            }
        }
    }

    /// Gives back a batch `take` returned that could not be recorded, under any change noted
    /// since: what each principal was before the batch comes back, what it is now stays.
    func putBack(_ batch: (joined: [String], left: [String])) {
        pending.withLockedValue { table in
            for id in batch.joined { table[id] = (false, table[id]?.isOnline ?? true) }
            for id in batch.left { table[id] = (true, table[id]?.isOnline ?? false) }
        }
    }

    /// Takes the changes noted so far: who is online now and who went offline.
    func take() -> (joined: [String], left: [String]) {
        let table = pending.withLockedValue { table in
            defer { table.removeAll() }
            return table
        }
        var joined: [String] = [], left: [String] = []
        for (id, entry) in table where entry.wasOnline != entry.isOnline {
            if entry.isOnline { joined.append(id) } else { left.append(id) }
        }
        return (joined.sorted(), left.sorted())
    }
}
