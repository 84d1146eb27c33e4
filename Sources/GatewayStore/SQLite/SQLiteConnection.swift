// A deliberately small wrapper over the SQLite C API.
//
// Why the C API directly and not GRDB or sqlite-nio (both in the mirror): the store needs a handful
// of statements, one writer thread and a few reader connections. GRDB brings its own concurrency
// model (DatabasePool/queues) and a large API surface; sqlite-nio brings NIO futures and its own
// thread pool. Both would sit between us and the two things that matter here — batching many inserts
// into one transaction on our own thread, and cached prepared statements — for no gain. Owning
// ~200 lines of wrapper keeps the cost visible and the dependency list short.
//
// Threading: a connection is opened with SQLITE_OPEN_NOMUTEX and must be used by one thread at a
// time; the owners (the history writer thread, the reader pool, the attachment store's lock)
// guarantee that.
import CSQLite

final class SQLiteConnection {
    private(set) var handle: OpaquePointer?
    let path: String
    /// Prepared statements by SQL text: preparing costs more than running the small statements
    /// the store uses, so each connection prepares a statement once and resets it between uses.
    private var statements: [String: SQLiteStatement] = [:]

    init(path: String, readOnly: Bool = false) throws(StoreError) {
        self.path = path
        var flags = SQLITE_OPEN_NOMUTEX
        flags |= readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        var opened: OpaquePointer?
        let status = sqlite3_open_v2(path, &opened, flags, nil)
        guard status == SQLITE_OK, let opened else {
            let reason = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status))
            sqlite3_close_v2(opened)
            throw .openFailed("cannot open SQLite database \(path): \(reason)")
        }
        handle = opened
        sqlite3_extended_result_codes(opened, 1)
        // Readers and the writer share the file; instead of failing at once on a lock held by a
        // checkpoint or by the attachment store, wait a little.
        sqlite3_busy_timeout(opened, 5_000)
    }

    deinit { close() }

    func close() {
        for statement in statements.values { statement.finalize() }
        statements.removeAll()
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    var lastErrorMessage: String {
        guard let handle else { return "connection closed" }
        return "\(String(cString: sqlite3_errmsg(handle))) (code \(sqlite3_extended_errcode(handle)))"
    }

    /// Runs one or more statements that return no rows (schema, pragmas, BEGIN/COMMIT).
    func execute(_ sql: String) throws(StoreError) {
        guard let handle else { throw .closed("SQLite connection to \(path)") }
        var errorText: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &errorText)
        if status != SQLITE_OK {
            let reason = errorText.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(errorText)
            throw .sqlite("\(reason) while running: \(sql.prefix(120))")
        }
    }

    /// A cached prepared statement, reset and with bindings cleared after `body` returns.
    func withStatement<T>(_ sql: String, _ body: (SQLiteStatement) throws(StoreError) -> T) throws(StoreError) -> T {
        let statement = try prepared(sql)
        defer { statement.reset() }
        return try body(statement)
    }

    private func prepared(_ sql: String) throws(StoreError) -> SQLiteStatement {
        if let cached = statements[sql] { return cached }
        guard let handle else { throw .closed("SQLite connection to \(path)") }
        var raw: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard status == SQLITE_OK, let raw else {
            throw .sqlite("\(lastErrorMessage) while preparing: \(sql.prefix(120))")
        }
        let statement = SQLiteStatement(raw, connection: self)
        statements[sql] = statement
        return statement
    }

    /// Runs `body` inside BEGIN IMMEDIATE … COMMIT, rolling back if it throws. IMMEDIATE takes the
    /// write lock up front so a transaction never fails half-way on a lock upgrade.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        // Prepared once and cached: sqlite3_exec would parse BEGIN and COMMIT again for every
        // history batch.
        try withStatement("BEGIN IMMEDIATE") { statement throws(StoreError) in try statement.run() }
        do {
            let result = try body()
            try withStatement("COMMIT") { statement throws(StoreError) in try statement.run() }
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    var changes: Int { handle.map { Int(sqlite3_changes($0)) } ?? 0 }
}
