// Types of the attachment-validation hook.

/// An attachment as the host lends it for one call: metadata plus (for uploads) the bytes.
public struct Attachment {
    /// {"type": "image"|"youtube"|..., "name", "mime", "size", "url"}; keys absent when unknown.
    public let metadata: JSONView
    /// The content; empty for types without bytes (URLs). Borrowed for the call only.
    public let bytes: UnsafeRawBufferPointer

    public init(metadata: JSONView, bytes: UnsafeRawBufferPointer) {
        self.metadata = metadata
        self.bytes = bytes
    }

    public var type: String? { metadata["type"].string }
    public var name: String? { metadata["name"].string }
    public var mime: String? { metadata["mime"].string }
    public var declaredSize: Int? { metadata["size"].int }
    public var url: String? { metadata["url"].string }
}

public enum AttachmentVerdict: Equatable, Sendable {
    /// GW_OK: accepted.
    case accept
    /// GW_SKIP: no opinion; the next plugin decides.
    case skip
    /// GW_REJECT: refused; the text is shown to the client (415 attachment.unsupported_type).
    case reject(String)
    /// GW_REJECT with a stable client-facing code and HTTP status (ABI 1.2; on an older host the
    /// code becomes a "code: " prefix of the text).
    case refuse(code: String, status: Int, reason: String)
}
