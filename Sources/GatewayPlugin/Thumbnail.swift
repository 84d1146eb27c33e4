// Types of the thumbnail hook.

public struct ThumbnailRequest {
    /// The image bytes, borrowed for the call.
    public let bytes: UnsafeRawBufferPointer
    /// Declared MIME type ("image/png").
    public let mime: String
    /// The thumbnail must fit this box (aspect ratio kept).
    public let maxWidth: Int
    public let maxHeight: Int
}

public enum ThumbnailOutcome {
    /// GW_OK: the SDK copies `bytes` into host-allocated memory. `mime` must fit in 63 bytes.
    case thumbnail(bytes: [UInt8], mime: String, width: Int, height: Int)
    /// GW_SKIP: MIME type not handled.
    case skip
    /// GW_REJECT: corrupt or hostile image; the text is shown to the client.
    case reject(String)
}
