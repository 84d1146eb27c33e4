// An upload in progress: bytes stream into a private temp file while SHA-256 is computed on the
// way, so an upload is never held whole in memory and is hashed exactly once. Until commit the
// file lives only in <directory>/tmp; abort(), dropping the object, or a restart of the store
// removes it, so an upload cut midway never leaves a partial attachment behind.
import COpenSSL
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// @unchecked: one upload at a time owns it, and its writes are chained one after another on the
// blocking pool (AttachmentUpload.writeTail), so no two threads touch it at once.
public final class UploadFile: @unchecked Sendable {
    public let temporaryPath: String
    /// Bytes written so far.
    public private(set) var size: Int64 = 0
    /// Larger uploads fail with store.too_large (and the temp file is removed). nil: no limit.
    public let maxBytes: Int64?

    private var descriptor: Int32
    private var digest: OpaquePointer?
    private var finished = false

    init(temporaryPath: String, maxBytes: Int64?) throws(StoreError) {
        self.temporaryPath = temporaryPath
        self.maxBytes = maxBytes
        // O_EXCL: never reuse (or follow a link planted at) an existing name.
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .io("cannot create upload file \(temporaryPath): \(FileSystem.errorText())")
        }
        digest = EVP_MD_CTX_new()
        guard let digest, EVP_DigestInit_ex(digest, EVP_sha256(), nil) == 1 else {
            close(descriptor)
            unlink(temporaryPath)
            throw .io("cannot start SHA-256 (OpenSSL EVP) for an upload")
        }
    }

    deinit { abort() }

    public var isFinished: Bool { finished }

    /// Appends a chunk and feeds it to the hash.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        guard !finished else {
            throw StoreError(code: StoreError.uploadFinishedCode, message: "this upload was already committed or aborted")
        }
        guard !bytes.isEmpty, let base = bytes.baseAddress else { return }
        if let maxBytes, size + Int64(bytes.count) > maxBytes {
            abort()
            throw StoreError(code: StoreError.tooLargeCode, message: "upload exceeds the limit of \(maxBytes) bytes")
        }
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                let reason = FileSystem.errorText()
                abort()
                throw .io("cannot write upload file \(temporaryPath): \(reason)")
            }
            offset += written
        }
        EVP_DigestUpdate(digest, base, bytes.count)
        size += Int64(bytes.count)
    }

    public func write(_ bytes: [UInt8]) throws(StoreError) {
        var result: Result<Void, StoreError> = .success(())
        bytes.withUnsafeBytes { raw in
            do throws(StoreError) { try write(raw) } catch { result = .failure(error) }
        }
        try result.get()
    }

    /// Throws the upload away: the temp file is removed. Safe to call more than once.
    public func abort() {
        guard !finished else { return }
        finished = true
        close(descriptor)
        unlink(temporaryPath)
        EVP_MD_CTX_free(digest)
        digest = nil
    }

    /// Makes the content durable, closes the file and returns its hash; the caller then moves the
    /// file to its content address. After this the upload is finished (abort() does nothing).
    func finish() throws(StoreError) -> (sha256: String, size: Int64) {
        guard !finished else {
            throw StoreError(code: StoreError.uploadFinishedCode, message: "this upload was already committed or aborted")
        }
        // fsync before the rename: otherwise a crash could leave a named but empty attachment.
        if fsync(descriptor) != 0 {
            let reason = FileSystem.errorText()
            abort()
            throw .io("cannot sync upload file \(temporaryPath): \(reason)")
        }
        var hash = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let status = EVP_DigestFinal_ex(digest, &hash, &length)
        finished = true
        close(descriptor)
        EVP_MD_CTX_free(digest)
        digest = nil
        guard status == 1 else {
            unlink(temporaryPath)
            throw .io("SHA-256 (OpenSSL EVP) failed for an upload")
        }
        return (Hex.encode(hash.prefix(Int(length))), size)
    }
}

enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Exactly 64 lowercase hex digits: the only shape a content address may have.
    static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
