// Random, URL-safe identifiers (attachment ids, temp file names). SystemRandomNumberGenerator
// reads the kernel's CSPRNG (getrandom on Linux), so ids cannot be guessed to fetch attachments.
public enum RandomToken {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// `length` characters of base64url alphabet: 6 random bits each (22 characters ≈ 132 bits).
    public static func make(length: Int = 22) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(length)
        for _ in 0..<length { bytes.append(alphabet[Int(generator.next() & 63)]) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
