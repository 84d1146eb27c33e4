// Non-member subscriptions (chat_api's ws-subscribe): a principal that is not a member watches
// one room's live events — an admin following a conversation. One room per principal: watching
// another replaces it (chat_api's rule), so the table is keyed by the principal.

extension SQLiteRoomStore {
    /// Watches `room` instead of whatever `principal` watched; returns the room it watched before.
    public func watch(room: String, principal: String) throws(StoreError) -> String? {
        try withConnection { connection throws(StoreError) in
            try connection.transaction { () throws(StoreError) -> String? in
                let previous = try connection.withStatement("SELECT room_id FROM room_watchers WHERE principal = ?") { statement throws(StoreError) in
                    statement.bind(1, principal)
                    return try statement.step() ? statement.string(0) : nil
                }
                try connection.withStatement("INSERT OR REPLACE INTO room_watchers (principal, room_id) VALUES (?, ?)") { statement throws(StoreError) in
                    statement.bind(1, principal)
                    statement.bind(2, room)
                    try statement.run()
                }
                return previous == room ? nil : previous
            }
        }
    }

    /// Returns false when `principal` did not watch `room`.
    public func unwatch(room: String, principal: String) throws(StoreError) -> Bool {
        try withConnection { connection throws(StoreError) in
            try connection.withStatement("DELETE FROM room_watchers WHERE principal = ? AND room_id = ?") { statement throws(StoreError) in
                statement.bind(1, principal)
                statement.bind(2, room)
                try statement.run()
            }
            return connection.changes > 0
        }
    }

    /// The principals watching `room`, sorted.
    public func watchers(of room: String) throws(StoreError) -> [String] {
        try withConnection { connection throws(StoreError) in
            try connection.withStatement("SELECT principal FROM room_watchers WHERE room_id = ? ORDER BY principal") { statement throws(StoreError) in
                statement.bind(1, room)
                var principals: [String] = []
                while try statement.step() { principals.append(statement.string(0)) }
                return principals
            }
        }
    }
}
