// Builders for hostile inputs: hand-made PNG chunks, and real files with patched headers.
import Foundation

enum HostileImages {
    /// CRC-32 (ISO-HDLC), as PNG chunks use it, so a crafted file passes libpng's CRC checks.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    static func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + typed + bigEndian(crc32(typed))
    }

    /// A ~70-byte PNG declaring width x height RGB pixels: the decompression-bomb shape.
    /// The IDAT is a valid zlib stream of a few zero bytes; only the header is huge.
    static func pngClaiming(width: UInt32, height: UInt32) -> [UInt8] {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let header = bigEndian(width) + bigEndian(height) + [8, 2, 0, 0, 0]
        let zlibOfZeros: [UInt8] = [0x78, 0x9C, 0x63, 0x60, 0x60, 0x60, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01]
        return signature + pngChunk("IHDR", header) + pngChunk("IDAT", zlibOfZeros) + pngChunk("IEND", [])
    }

    /// A real JPEG with its SOFn frame size replaced.
    static func jpeg(_ original: [UInt8], claimingWidth width: UInt16, height: UInt16) -> [UInt8]? {
        var bytes = original
        var position = 2
        while position + 9 < bytes.count, bytes[position] == 0xFF {
            let marker = bytes[position + 1]
            let length = Int(bytes[position + 2]) << 8 | Int(bytes[position + 3])
            if (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
                bytes[position + 5] = UInt8(height >> 8); bytes[position + 6] = UInt8(height & 0xFF)
                bytes[position + 7] = UInt8(width >> 8); bytes[position + 8] = UInt8(width & 0xFF)
                return bytes
            }
            position += 2 + length
        }
        return nil
    }

    /// A real JPEG whose first Huffman table (DHT) is filled with garbage: libjpeg fails with a
    /// fatal error (longjmp inside libgd) while the container structure stays intact.
    static func jpegWithBrokenHuffmanTable(_ original: [UInt8]) -> [UInt8]? {
        var bytes = original
        var position = 2
        while position + 4 < bytes.count, bytes[position] == 0xFF {
            let marker = bytes[position + 1]
            let length = Int(bytes[position + 2]) << 8 | Int(bytes[position + 3])
            if marker == 0xC4 {
                // Class/id byte kept; the 16 code-length counts all claim 255 codes (invalid).
                for index in (position + 5)..<min(position + 21, bytes.count) { bytes[index] = 0xFF }
                return bytes
            }
            position += 2 + length
        }
        return nil
    }

    /// A real GIF with its logical screen and first frame both resized.
    static func gif(_ original: [UInt8], claimingWidth width: UInt16, height: UInt16, screenToo: Bool) -> [UInt8]? {
        var bytes = original
        func put(_ value: UInt16, at index: Int) { bytes[index] = UInt8(value & 0xFF); bytes[index + 1] = UInt8(value >> 8) }
        if screenToo { put(width, at: 6); put(height, at: 8) }
        let globalTable = bytes[10] & 0x80 != 0 ? 3 << (Int(bytes[10] & 0x07) + 1) : 0
        var position = 13 + globalTable
        while position < bytes.count {
            switch bytes[position] {
            case 0x2C:
                put(width, at: position + 5); put(height, at: position + 7)
                return bytes
            case 0x21:
                position += 2
                while position < bytes.count, bytes[position] != 0 { position += 1 + Int(bytes[position]) }
                position += 1
            default:
                return nil
            }
        }
        return nil
    }
}

/// SplitMix64: a fixed-seed generator so every fuzz run tries the same inputs.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
