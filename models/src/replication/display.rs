//! How the replication model's states print: one line each, for
//! counterexamples and the explorer.

use std::fmt;

use spool::replication::ReplicaId;

use super::{ReplicationState, Role};

/// One line per state, for counterexamples and the explorer:
///
/// ```text
/// ctl leader=1 e1 isr={1,2} | r0 off [0:a0 0:a1] hw0 | r1 L [0:a0] hw0 | r2 F [0:a0] hw1 | acked={0:a0} consumed=1
/// ```
///
/// A log entry is `epoch:a<value>`. A follower behind the metadata log shows
/// the leader epoch it still believes in: `r2 F lagging e0 [0:a0] hw0`.
impl fmt::Debug for ReplicationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.controller;
        let leader = c.leader.map_or("none".to_string(), |l| l.to_string());
        let isr: Vec<String> = c.isr.iter().map(|r| r.to_string()).collect();
        write!(f, "ctl leader={leader} e{} isr={{{}}}", c.leader_epoch, isr.join(","))?;
        for (r, replica) in self.replicas.iter().enumerate() {
            let role = match &replica.role {
                Role::Offline => "off".to_string(),
                Role::Follower(f) if replica.metadata_lagging => format!("F lagging e{}", f.leader_epoch),
                Role::Follower(_) => "F".to_string(),
                Role::Leader(_) => "L".to_string(),
            };
            let log: Vec<String> = replica.log.iter().map(|e| format!("{}:a{}", e.epoch, e.value)).collect();
            let hw = self.high_watermark_of(r as ReplicaId);
            write!(f, " | r{r} {role} [{}] hw{hw}", log.join(" "))?;
        }
        let acked: Vec<String> = self.acked.iter().map(|(o, v)| format!("{o}:a{v}")).collect();
        write!(f, " | acked={{{}}} consumed={}", acked.join(","), self.consumed.len())
    }
}
