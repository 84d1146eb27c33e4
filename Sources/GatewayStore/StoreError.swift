// Every failure of the store surfaces as one StoreError with a stable `code` (what callers switch
// on and what ends up in `{"error": {"code": ...}}`) and a sentence for humans in `message`.

public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable, machine-readable code such as "store.sqlite".
    public let code: String
    /// What went wrong and, where possible, what to do about it.
    public let message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

extension StoreError {
    /// The database file or its folder could not be created or opened.
    public static let openFailedCode = "store.open_failed"
    /// A file system operation (attachment file, temp file, folder) failed.
    public static let ioCode = "store.io"
    /// SQLite reported an error while running a statement.
    public static let sqliteCode = "store.sqlite"
    /// The requested record does not exist.
    public static let notFoundCode = "store.not_found"
    /// The database was written by a newer gateway whose schema this build does not know.
    public static let schemaTooNewCode = "store.schema_too_new"
    /// An argument the caller passed cannot be used (bad timestamp, bad limit, bad hash).
    public static let invalidArgumentCode = "store.invalid_argument"
    /// An upload grew past the size limit given to beginUpload(maxBytes:).
    public static let tooLargeCode = "store.too_large"
    /// The store was closed; no further reads or writes are possible.
    public static let closedCode = "store.closed"
    /// The upload was already committed or aborted.
    public static let uploadFinishedCode = "store.upload_finished"

    static func openFailed(_ message: String) -> StoreError { StoreError(code: openFailedCode, message: message) }
    static func io(_ message: String) -> StoreError { StoreError(code: ioCode, message: message) }
    static func sqlite(_ message: String) -> StoreError { StoreError(code: sqliteCode, message: message) }
    static func notFound(_ message: String) -> StoreError { StoreError(code: notFoundCode, message: message) }
    static func invalidArgument(_ message: String) -> StoreError {
        StoreError(code: invalidArgumentCode, message: message)
    }
    static func closed(_ what: String) -> StoreError {
        StoreError(code: closedCode, message: "\(what) is closed; reopen the store to use it again")
    }
}
