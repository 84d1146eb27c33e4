/// The gateway's own look at an upload's first bytes. The validation plugin has the final say;
/// this only tells its two kinds of refusal apart — "this type is not accepted" (415
/// attachment.unsupported_type) versus "the bytes are not the declared type" (415
/// attachment.content_mismatch) — without parsing the plugin's prose.
enum ContentSignature: Equatable {
    case png, jpeg, gif, webp, pdf

    init?(mime: String) {
        switch mime {
        case "image/png": self = .png
        case "image/jpeg", "image/jpg", "image/pjpeg": self = .jpeg
        case "image/gif": self = .gif
        case "image/webp": self = .webp
        case "application/pdf", "application/x-pdf", "application/vnd.pdf", "text/pdf": self = .pdf
        default: return nil
        }
    }

    init?(sniffing bytes: UnsafeRawBufferPointer) {
        func starts(_ signature: [UInt8], at offset: Int = 0) -> Bool {
            guard bytes.count >= offset + signature.count else { return false }
            return signature.indices.allSatisfy { bytes[offset + $0] == signature[$0] }
        }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else if starts([0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) {
            self = .gif
        } else if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) {
            self = .webp
        } else if starts(Array("%PDF-".utf8)) {
            self = .pdf
        } else {
            return nil
        }
    }

    /// True when the declared MIME type names a format we can recognise and the bytes are not it.
    static func contradicts(mime: String, bytes: UnsafeRawBufferPointer) -> Bool {
        guard let declared = ContentSignature(mime: mime) else { return false }
        return ContentSignature(sniffing: bytes) != declared
    }
}
