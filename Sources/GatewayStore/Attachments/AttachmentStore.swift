// Attachments: content-addressed files plus metadata and read grants in SQLite.
//
// Files live at <directory>/<first two hex digits>/<sha256>, so identical bytes are stored once
// however many times they are uploaded, and a file never changes once written (safe to serve
// while other uploads run). Uploads stream into <directory>/tmp first; see UploadFile.
//
// Metadata may share the history's database file (WAL makes that safe); this store keeps its own
// connection behind a lock — attachment operations are rare next to history writes.
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class AttachmentStore: @unchecked Sendable {  // `connection` is only touched while `lock` is held
    public let directory: String
    private let temporaryDirectory: String
    private let logger: Logger
    private let lock = LockWithCondition()
    private var connection: SQLiteConnection?

    /// Opens the store, creating `directory` and migrating the database. Leftover temp files of
    /// uploads cut by a crash are removed here.
    public init(directory: String, databasePath: String,
                logger: Logger = Logger(label: "gateway.store.attachments")) throws(StoreError) {
        guard !directory.isEmpty else { throw .openFailed("the attachments directory must not be empty") }
        self.directory = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        temporaryDirectory = self.directory + "/tmp"
        self.logger = logger
        try FileSystem.createDirectories(temporaryDirectory)
        connection = try StoreSchema.openMigrated(path: databasePath, logger: logger)
        removeLeftoverUploads()
    }

    /// Keeps attachment metadata in the history's database file.
    public convenience init(directory: String, history: HistoryStore,
                            logger: Logger = Logger(label: "gateway.store.attachments")) throws(StoreError) {
        try self.init(directory: directory, databasePath: history.path, logger: logger)
    }

    deinit { close() }

    public func close() {
        lock.withLock {
            connection?.close()
            connection = nil
        }
    }

    // MARK: Uploads

    /// Starts an upload: write chunks to it, then commit(...) or abort().
    public func beginUpload(maxBytes: Int64? = nil) throws(StoreError) -> UploadFile {
        try UploadFile(temporaryPath: "\(temporaryDirectory)/upload-\(RandomToken.make())", maxBytes: maxBytes)
    }

    /// Moves the finished upload to its content address and records its metadata under a new id.
    public func commit(_ upload: UploadFile, type: String, mime: String, name: String, owner: String)
        throws(StoreError) -> AttachmentRecord
    {
        let (sha256, size) = try place(upload)
        let record = AttachmentRecord(
            id: RandomToken.make(), type: type, mime: mime, size: size, sha256: sha256, name: name, owner: owner,
            createdAt: Timestamp.now(), thumbnail: nil)
        try withConnection { connection throws(StoreError) in
            try connection.withStatement(
                """
                INSERT INTO attachments (id, type, mime, size, sha256, name, owner, created_at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                """
            ) { statement throws(StoreError) in
                statement.bind(1, record.id)
                statement.bind(2, record.type)
                statement.bind(3, record.mime)
                statement.bind(4, record.size)
                statement.bind(5, record.sha256)
                statement.bind(6, record.name)
                statement.bind(7, record.owner)
                statement.bind(8, record.createdAt)
                try statement.run()
            }
        }
        logger.debug("attachment stored", metadata: ["id": "\(record.id)", "sha256": "\(sha256)", "size": "\(size)"])
        return record
    }

    /// Stores thumbnail bytes (content-addressed like attachments) and links them to attachment `id`.
    public func storeThumbnail(for id: String, bytes: [UInt8], mime: String, width: Int, height: Int) throws(StoreError) {
        guard width > 0, height > 0 else {
            throw .invalidArgument("thumbnail size must be positive, got \(width)x\(height)")
        }
        guard try record(id: id) != nil else { throw .notFound("no attachment with id \(id)") }
        let upload = try beginUpload()
        try upload.write(bytes)
        let (sha256, size) = try place(upload)
        try withConnection { connection throws(StoreError) in
            try connection.withStatement(
                """
                UPDATE attachments SET thumb_sha256 = ?2, thumb_mime = ?3, thumb_width = ?4, thumb_height = ?5,
                    thumb_size = ?6 WHERE id = ?1
                """
            ) { statement throws(StoreError) in
                statement.bind(1, id)
                statement.bind(2, sha256)
                statement.bind(3, mime)
                statement.bind(4, width)
                statement.bind(5, height)
                statement.bind(6, size)
                try statement.run()
            }
            if connection.changes == 0 { throw StoreError.notFound("no attachment with id \(id)") }
        }
    }

    // MARK: Reading

    public func record(id: String) throws(StoreError) -> AttachmentRecord? {
        try withConnection { connection throws(StoreError) in
            try connection.withStatement(
                """
                SELECT id, type, mime, size, sha256, name, owner, created_at,
                       thumb_sha256, thumb_mime, thumb_width, thumb_height, thumb_size
                FROM attachments WHERE id = ?1
                """
            ) { statement throws(StoreError) -> AttachmentRecord? in
                statement.bind(1, id)
                guard try statement.step() else { return nil }
                let thumbnail = statement.optionalString(8).map { sha in
                    ThumbnailRecord(sha256: sha, mime: statement.string(9), width: statement.int(10),
                                    height: statement.int(11), size: statement.int64(12))
                }
                return AttachmentRecord(
                    id: statement.string(0), type: statement.string(1), mime: statement.string(2),
                    size: statement.int64(3), sha256: statement.string(4), name: statement.string(5),
                    owner: statement.string(6), createdAt: statement.string(7), thumbnail: thumbnail)
            }
        }
    }

    /// Where the bytes with this hash live. A string that is not a SHA-256 in lowercase hex gets a
    /// path inside the store that never exists, so a forged hash can never reach outside it.
    public func filePath(sha256: String) -> String {
        guard Hex.isSHA256(sha256) else { return "\(directory)/tmp/.not-a-sha256" }
        return "\(directory)/\(sha256.prefix(2))/\(sha256)"
    }

    // MARK: Access

    /// Lets `principals` read attachment `id` (the principals an event carrying it was delivered to).
    public func grant(id: String, principals: [String]) throws(StoreError) {
        try withConnection { connection throws(StoreError) in
            let exists = try connection.withStatement("SELECT 1 FROM attachments WHERE id = ?1") { statement throws(StoreError) in
                statement.bind(1, id)
                return try statement.step()
            }
            guard exists else { throw StoreError.notFound("no attachment with id \(id)") }
            guard !principals.isEmpty else { return }
            try connection.transaction { () throws(StoreError) in
                try connection.withStatement(
                    "INSERT OR IGNORE INTO attachment_grants (attachment_id, principal) VALUES (?1, ?2)"
                ) { statement throws(StoreError) in
                    for principal in principals {
                        statement.bind(1, id)
                        statement.bind(2, principal)
                        try statement.run()
                        statement.reset()
                    }
                }
            }
        }
    }

    /// True when `identityId` uploaded the attachment or any of `principals` was granted it.
    /// An unknown id is simply not readable (false), so probing ids reveals nothing.
    public func mayRead(id: String, identityId: String, principals: [String]) throws(StoreError) -> Bool {
        try withConnection { connection throws(StoreError) in
            try connection.withStatement(
                """
                SELECT 1 FROM attachments AS a WHERE a.id = ?1 AND (a.owner = ?2 OR EXISTS (
                    SELECT 1 FROM attachment_grants AS g
                    WHERE g.attachment_id = a.id AND g.principal IN (SELECT value FROM json_each(?3))))
                """
            ) { statement throws(StoreError) in
                statement.bind(1, id)
                statement.bind(2, identityId)
                statement.bind(3, PrincipalList.encode(principals))
                return try statement.step()
            }
        }
    }

    // MARK: Helpers

    /// Finishes the upload and moves it to its content address; if those bytes are already stored,
    /// the new copy is dropped instead. Returns the hash and size.
    private func place(_ upload: UploadFile) throws(StoreError) -> (String, Int64) {
        let (sha256, size) = try upload.finish()
        let destination = filePath(sha256: sha256)
        do throws(StoreError) {
            try FileSystem.createDirectories("\(directory)/\(sha256.prefix(2))")
        } catch {
            FileSystem.remove(upload.temporaryPath)
            throw .io(error.message)
        }
        if FileSystem.fileSize(destination) == size {
            FileSystem.remove(upload.temporaryPath)
        } else if rename(upload.temporaryPath, destination) != 0 {
            let reason = FileSystem.errorText()
            FileSystem.remove(upload.temporaryPath)
            throw .io("cannot move upload to \(destination): \(reason)")
        }
        return (sha256, size)
    }

    private func withConnection<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        var result: Result<T, StoreError>!
        lock.withLock {
            guard let connection else {
                result = .failure(.closed("attachment store \(directory)"))
                return
            }
            do throws(StoreError) { result = .success(try body(connection)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    private func removeLeftoverUploads() {
        let leftovers = FileSystem.contents(of: temporaryDirectory).filter { $0.hasPrefix("upload-") }
        for name in leftovers { FileSystem.remove("\(temporaryDirectory)/\(name)") }
        if !leftovers.isEmpty {
            logger.info("removed unfinished uploads left by an earlier run", metadata: ["count": "\(leftovers.count)"])
        }
    }
}
