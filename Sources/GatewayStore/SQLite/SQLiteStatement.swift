// One prepared statement. Binding indexes are 1-based and columns 0-based, as in the C API.
import CSQLite

/// SQLITE_TRANSIENT is a C macro cast ((sqlite3_destructor_type)-1) that Swift does not import:
/// it tells SQLite to copy the bound bytes before bind returns, so Swift may free them.
private let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

final class SQLiteStatement {
    private var raw: OpaquePointer?
    private unowned let connection: SQLiteConnection

    init(_ raw: OpaquePointer, connection: SQLiteConnection) {
        self.raw = raw
        self.connection = connection
    }

    func finalize() {
        sqlite3_finalize(raw)
        raw = nil
    }

    func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    // MARK: Binding

    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(raw, index, value) }
    func bind(_ index: Int32, _ value: Int) { sqlite3_bind_int64(raw, index, Int64(value)) }
    func bind(_ index: Int32, _ value: Double?) {
        if let value { sqlite3_bind_double(raw, index, value) } else { sqlite3_bind_null(raw, index) }
    }

    func bind(_ index: Int32, _ value: String) {
        // An empty string has no buffer; passing NULL would bind SQL NULL, so bind "" explicitly.
        if value.isEmpty {
            sqlite3_bind_text(raw, index, "", 0, transientDestructor)
            return
        }
        var value = value
        value.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                _ = sqlite3_bind_text(raw, index, chars.baseAddress, Int32(chars.count), transientDestructor)
            }
        }
    }

    func bind(_ index: Int32, _ value: String?) {
        if let value { bind(index, value) } else { sqlite3_bind_null(raw, index) }
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { bind(index, value) } else { sqlite3_bind_null(raw, index) }
    }

    func bind(_ index: Int32, blob: [UInt8]) {
        blob.withUnsafeBytes { bytes in
            // A zero-length blob must still be a blob, not NULL: zeroblob(0) gives exactly that.
            if bytes.isEmpty {
                _ = sqlite3_bind_zeroblob(raw, index, 0)
            } else {
                _ = sqlite3_bind_blob(raw, index, bytes.baseAddress, Int32(bytes.count), transientDestructor)
            }
        }
    }

    // MARK: Running

    /// Advances one row: true when a row is available, false when the statement is done.
    func step() throws(StoreError) -> Bool {
        switch sqlite3_step(raw) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw .sqlite(connection.lastErrorMessage)
        }
    }

    /// Runs a statement that returns no rows of interest.
    func run() throws(StoreError) {
        while try step() {}
    }

    // MARK: Columns of the current row

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }
    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }
    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(raw, column)) }
    func double(_ column: Int32) -> Double { sqlite3_column_double(raw, column) }

    func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(raw, column) else { return "" }
        let count = Int(sqlite3_column_bytes(raw, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    func optionalString(_ column: Int32) -> String? { isNull(column) ? nil : string(column) }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(raw, column))
        guard count > 0, let bytes = sqlite3_column_blob(raw, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }
}
