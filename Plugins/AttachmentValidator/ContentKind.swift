// What a file really is, told by its first bytes (magic numbers), so a declared MIME type or a
// file name cannot smuggle other content past the validator.

enum ContentKind: String, CaseIterable {
    case png = "PNG image"
    case jpeg = "JPEG image"
    case gif = "GIF image"
    case webp = "WebP image"
    case pdf = "PDF document"

    var isImage: Bool { self != .pdf }

    /// The kind a MIME type promises; nil for a type this validator cannot verify.
    init?(mime: String) {
        switch mime {
        case "image/png": self = .png
        case "image/jpeg", "image/jpg", "image/pjpeg": self = .jpeg
        case "image/gif": self = .gif
        case "image/webp": self = .webp
        // chat_api's MIME_TO_EXT lists every spelling of PDF seen in the wild.
        case "application/pdf", "application/x-pdf", "application/vnd.pdf", "text/pdf": self = .pdf
        default: return nil
        }
    }

    /// The kind a file extension promises; nil for an extension this validator cannot verify.
    init?(fileExtension: String) {
        switch fileExtension {
        case "png": self = .png
        case "jpg", "jpeg", "jpe": self = .jpeg
        case "gif": self = .gif
        case "webp": self = .webp
        case "pdf": self = .pdf
        default: return nil
        }
    }

    /// The kind the bytes actually are, or nil when they match no known signature.
    init?(sniffing bytes: UnsafeRawBufferPointer) {
        func starts(with signature: [UInt8], at offset: Int = 0) -> Bool {
            guard bytes.count >= offset + signature.count else { return false }
            for (index, byte) in signature.enumerated() where bytes[offset + index] != byte { return false }
            return true
        }
        if starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else if starts(with: [0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if starts(with: Array("GIF87a".utf8)) || starts(with: Array("GIF89a".utf8)) {
            self = .gif
        } else if starts(with: Array("RIFF".utf8)) && starts(with: Array("WEBP".utf8), at: 8) {
            self = .webp
        } else if starts(with: Array("%PDF-".utf8)) {
            self = .pdf
        } else {
            return nil
        }
    }
}
