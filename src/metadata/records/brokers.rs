//! The broker records' bodies: RegisterBrokerRecord (v0–v3) and
//! BrokerRegistrationChangeRecord (v0–v2). The id-and-epoch records
//! (Unregister, Fence, Unfence) are two fields, encoded in `records.rs`.

use super::codec::{Reader, Tagged, Writer};
use super::{
    BrokerEndpoint, BrokerFeature, BrokerRegistrationChangeRecord, ControlledShutdownChange, DecodeError,
    FencingChange, RegisterBrokerRecord,
};

pub(super) fn encode_register_broker(w: &mut Writer, tagged: &mut Tagged, r: &RegisterBrokerRecord) {
    w.i32(r.broker_id);
    w.bool(r.is_migrating_zk_broker);
    w.uuid(&r.incarnation_id);
    w.i64(r.broker_epoch);
    w.uvarint(r.endpoints.len() as u32 + 1);
    for e in &r.endpoints {
        w.string(Some(&e.name));
        w.string(Some(&e.host));
        w.out.extend_from_slice(&e.port.to_be_bytes());
        w.i16(e.security_protocol);
        w.uvarint(0); // the endpoint's tagged fields
    }
    w.uvarint(r.features.len() as u32 + 1);
    for f in &r.features {
        w.string(Some(&f.name));
        w.i16(f.min_supported_version);
        w.i16(f.max_supported_version);
        w.uvarint(0);
    }
    w.string(r.rack.as_deref());
    w.bool(r.fenced);
    w.bool(r.in_controlled_shutdown);
    if !r.log_dirs.is_empty() {
        tagged.field(0, |w| w.uuids(Some(&r.log_dirs)));
    }
}

pub(super) fn decode_register_broker(
    r: &mut Reader,
    version: u32,
) -> Result<RegisterBrokerRecord, DecodeError> {
    let broker_id = r.i32()?;
    let is_migrating_zk_broker = if version >= 2 { r.bool("isMigratingZkBroker")? } else { false };
    let incarnation_id = r.uuid()?;
    let broker_epoch = r.i64()?;
    let endpoints = r.structs("endpoints", |r| {
        let e = BrokerEndpoint {
            name: r.string("endpoint name")?,
            host: r.string("endpoint host")?,
            port: u16::from_be_bytes(r.take(2)?.try_into().expect("2 bytes")),
            security_protocol: r.i16()?,
        };
        r.skip_tagged()?;
        Ok(e)
    })?;
    let features = r.structs("features", |r| {
        let f = BrokerFeature {
            name: r.string("feature name")?,
            min_supported_version: r.i16()?,
            max_supported_version: r.i16()?,
        };
        r.skip_tagged()?;
        Ok(f)
    })?;
    let rack = r.nullable_string()?;
    let fenced = r.bool("fenced")?;
    let in_controlled_shutdown = if version >= 1 { r.bool("inControlledShutdown")? } else { false };
    let mut record = RegisterBrokerRecord {
        broker_id,
        is_migrating_zk_broker,
        incarnation_id,
        broker_epoch,
        endpoints,
        features,
        rack,
        fenced,
        in_controlled_shutdown,
        log_dirs: Vec::new(),
    };
    r.tagged(|tag, r| {
        if tag == 0 && version >= 3 {
            record.log_dirs = r.uuids()?.ok_or(DecodeError::UnexpectedNull("logDirs"))?;
            return Ok(true);
        }
        Ok(false)
    })?;
    Ok(record)
}

pub(super) fn decode_registration_change(
    r: &mut Reader,
    version: u32,
) -> Result<BrokerRegistrationChangeRecord, DecodeError> {
    let mut c = BrokerRegistrationChangeRecord {
        broker_id: r.i32()?,
        broker_epoch: r.i64()?,
        fenced: FencingChange::None,
        in_controlled_shutdown: ControlledShutdownChange::None,
    };
    r.tagged(|tag, r| {
        match tag {
            0 => {
                c.fenced = match r.i8()? {
                    -1 => FencingChange::Unfence,
                    0 => FencingChange::None,
                    1 => FencingChange::Fence,
                    value => return Err(DecodeError::InvalidValue { field: "fenced", value }),
                }
            }
            1 if version >= 1 => {
                c.in_controlled_shutdown = match r.i8()? {
                    0 => ControlledShutdownChange::None,
                    1 => ControlledShutdownChange::InControlledShutdown,
                    value => return Err(DecodeError::InvalidValue { field: "inControlledShutdown", value }),
                }
            }
            _ => return Ok(false), // v2's log directories: spool keeps one
        }
        Ok(true)
    })?;
    Ok(c)
}
