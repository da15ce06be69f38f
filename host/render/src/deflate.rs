//! Flate compression of PDF streams. One compressor serves every stream of a
//! render: creating one allocates and clears some 300 KB, which cost more
//! than compressing a page's content stream.

use miniz_oxide::deflate::core::{
    CompressorOxide, TDEFLFlush, TDEFLStatus, compress, create_comp_flags_from_zip_params,
};

use crate::RenderError;

pub(crate) struct Deflater {
    level: u8,
    compressor: Option<Box<CompressorOxide>>,
}

impl Deflater {
    /// Level 0 (stored) to 10 (smallest); higher values count as 10.
    pub fn new(level: u8) -> Deflater {
        Deflater { level: level.min(10), compressor: None }
    }

    /// `input` as a zlib stream, what /FlateDecode expects.
    pub fn zlib(&mut self, input: &[u8]) -> Result<Vec<u8>, RenderError> {
        // Window bits > 0 selects the zlib wrapper; strategy 0 is the default.
        let flags = create_comp_flags_from_zip_params(i32::from(self.level), 1, 0);
        let compressor = match &mut self.compressor {
            Some(compressor) => {
                compressor.reset();
                compressor
            }
            slot @ None => slot.insert(Box::new(CompressorOxide::new(flags))),
        };

        let mut output = vec![0; (input.len() / 2).max(64)];
        let mut input = input;
        let mut written = 0;
        loop {
            let (status, read, produced) =
                compress(compressor, input, output.get_mut(written..).unwrap_or_default(), TDEFLFlush::Finish);
            written += produced;
            match status {
                TDEFLStatus::Done => {
                    output.truncate(written);
                    return Ok(output);
                }
                TDEFLStatus::Okay if read <= input.len() => {
                    input = &input[read..];
                    if output.len() - written < 64 {
                        output.resize(output.len() * 2, 0);
                    }
                }
                status => return Err(RenderError::Internal(format!("deflate stopped with status {status:?}"))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reuses_the_compressor() {
        let mut deflater = Deflater::new(1);
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let first = deflater.zlib(&data).unwrap();
        let second = deflater.zlib(&data).unwrap();
        assert_eq!(first, second, "a reused compressor must give the same bytes");
        assert_eq!(first, miniz_oxide::deflate::compress_to_vec_zlib(&data, 1));
        assert_eq!(miniz_oxide::inflate::decompress_to_vec_zlib(&first).unwrap(), data);
        assert!(deflater.zlib(b"").is_ok());
    }
}
