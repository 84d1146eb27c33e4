// Read-only connections for history queries. WAL lets every reader see the last committed state
// while the writer thread keeps committing, so readers never wait on the writer. A connection is
// used by one caller at a time; idle ones are kept (with their prepared statements) for reuse.
// @unchecked: `idle` and `closed` are guarded by `lock`; a connection taken out is used by one caller.
final class ReaderPool: @unchecked Sendable {
    private let path: String
    private let maxIdle: Int
    private let lock = LockWithCondition()
    private var idle: [SQLiteConnection] = []
    private var closed = false

    init(path: String, maxIdle: Int = 4) {
        self.path = path
        self.maxIdle = maxIdle
    }

    func withConnection<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        let connection = try take()
        defer { give(connection) }
        return try body(connection)
    }

    private func take() throws(StoreError) -> SQLiteConnection {
        let reused: SQLiteConnection?? = lock.withLock { closed ? .none : .some(idle.popLast()) }
        guard let reused else { throw .closed("history store \(path)") }
        if let reused { return reused }
        let connection = try SQLiteConnection(path: path, readOnly: true)
        // A read connection must never write, even by mistake in a future query.
        try connection.execute("PRAGMA query_only = 1")
        return connection
    }

    private func give(_ connection: SQLiteConnection) {
        let keep = lock.withLock { () -> Bool in
            guard !closed, idle.count < maxIdle else { return false }
            idle.append(connection)
            return true
        }
        if !keep { connection.close() }
    }

    func close() {
        let connections = lock.withLock { () -> [SQLiteConnection] in
            closed = true
            defer { idle.removeAll() }
            return idle
        }
        for connection in connections { connection.close() }
    }
}
