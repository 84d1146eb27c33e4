// Metadata of a stored attachment. The bytes live in a content-addressed file (see
// AttachmentStore.filePath(sha256:)); the record is what the API returns and checks access against.

public struct ThumbnailRecord: Sendable, Equatable {
    /// SHA-256 (hex) of the thumbnail bytes, which are stored content-addressed like attachments.
    public let sha256: String
    public let mime: String
    public let width: Int
    public let height: Int
    public let size: Int64

    public init(sha256: String, mime: String, width: Int, height: Int, size: Int64) {
        self.sha256 = sha256
        self.mime = mime
        self.width = width
        self.height = height
        self.size = size
    }
}

public struct AttachmentRecord: Sendable, Equatable {
    /// Random and URL-safe: knowing one id tells nothing about another.
    public let id: String
    /// The attachment type (as validated by the attachment plugins), e.g. "image" or "file".
    public let type: String
    public let mime: String
    public let size: Int64
    /// SHA-256 of the content, lowercase hex.
    public let sha256: String
    /// The file name given by the uploader (display only; never used as a path).
    public let name: String
    /// Identity id of the uploader; the owner may always read it.
    public let owner: String
    /// ISO 8601 UTC.
    public let createdAt: String
    public let thumbnail: ThumbnailRecord?

    public init(id: String, type: String, mime: String, size: Int64, sha256: String, name: String, owner: String,
                createdAt: String, thumbnail: ThumbnailRecord?) {
        self.id = id
        self.type = type
        self.mime = mime
        self.size = size
        self.sha256 = sha256
        self.name = name
        self.owner = owner
        self.createdAt = createdAt
        self.thumbnail = thumbnail
    }
}
