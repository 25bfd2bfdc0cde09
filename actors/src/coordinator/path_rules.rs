//! The coordinator's path rules (`[[path_map]]` and `[worker_groups]` in its settings): which of them apply to
//! which worker. The mapping itself is the worker's ([`distencode_wire::path_map`]): each offer carries the rules
//! for the worker it goes to.

use distencode_wire::path_map::{PathRule, MAX_PATH_RULES};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most workers a `[worker_groups]` group may list, and most groups.
pub const MAX_GROUP_MEMBERS: usize = 4096;

/// One `[[path_map]]` table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathMapConfig {
    /// The shared folder as clients write it: `D:\Projects`, `/Volumes/Projects`, `\\nas\media`.
    pub from: String,
    /// The same folder on the workers this rule is for.
    pub to: String,
    /// The workers it is for, by name or by a `[worker_groups]` group's name; empty: every worker.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<String>,
}

/// The rules, checked, and the groups they name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathRules {
    rules: Vec<(PathRule, Vec<String>)>,
    groups: BTreeMap<String, Vec<String>>,
}

impl PathRules {
    /// Checks the settings' rules and groups: every rule sound, every name in `workers` a worker's or a group's
    /// name (a group's name wins), no more than [`MAX_PATH_RULES`] rules.
    pub fn check(configs: &[PathMapConfig], groups: &BTreeMap<String, Vec<String>>) -> Result<Self, String> {
        if configs.len() > MAX_PATH_RULES {
            return Err(format!("{} rules, more than {MAX_PATH_RULES}", configs.len()));
        }
        if groups.len() > MAX_GROUP_MEMBERS || groups.values().any(|members| members.len() > MAX_GROUP_MEMBERS) {
            return Err(format!("worker_groups: more than {MAX_GROUP_MEMBERS} groups or members of one"));
        }
        let name_ok = |name: &str| distencode_wire::identity::validate_node_name(name).is_ok();
        for (group, members) in groups {
            if let Some(bad) = std::iter::once(group).chain(members).find(|name| !name_ok(name)) {
                return Err(format!("worker_groups: {bad:?} is not a worker name (1 to 64 of A-Z a-z 0-9 . _ -)"));
            }
        }
        let mut rules = Vec::with_capacity(configs.len());
        for (number, config) in (1..).zip(configs) {
            let rule = PathRule { from: config.from.clone(), to: config.to.clone() };
            rule.check().map_err(|e| format!("rule {number}: {e}"))?;
            if let Some(bad) = config.workers.iter().find(|name| !name_ok(name)) {
                return Err(format!("rule {number}: workers: {bad:?} is not a worker or group name"));
            }
            rules.push((rule, config.workers.clone()));
        }
        Ok(Self { rules, groups: groups.clone() })
    }

    /// The rules that apply to `worker`, in the order the settings give them.
    pub fn for_worker(&self, worker: &str) -> Vec<PathRule> {
        let applies = |names: &[String]| {
            names.is_empty()
                || names.iter().any(|name| match self.groups.get(name) {
                    Some(members) => members.iter().any(|member| member == worker),
                    None => name == worker,
                })
        };
        self.rules.iter().filter(|(_, names)| applies(names)).map(|(rule, _)| rule.clone()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(from: &str, to: &str, workers: &[&str]) -> PathMapConfig {
        PathMapConfig { from: from.into(), to: to.into(), workers: workers.iter().map(|w| w.to_string()).collect() }
    }

    #[test]
    fn rules_apply_to_every_worker_a_named_one_or_a_groups_members() {
        let groups = BTreeMap::from([("linux".to_string(), vec!["render1".to_string(), "render2".to_string()])]);
        let rules = PathRules::check(
            &[
                config("D:\\Projects", "/mnt/projects", &["linux"]),
                config("/Volumes/Projects", "/Users/Shared/Projects", &["mac1"]),
                config("\\\\nas\\media", "/mnt/media", &[]),
            ],
            &groups,
        )
        .unwrap();
        let froms = |worker: &str| rules.for_worker(worker).into_iter().map(|r| r.from).collect::<Vec<_>>();
        assert_eq!(froms("render2"), ["D:\\Projects", "\\\\nas\\media"]);
        assert_eq!(froms("mac1"), ["/Volumes/Projects", "\\\\nas\\media"]);
        assert_eq!(froms("other"), ["\\\\nas\\media"]);
    }

    #[test]
    fn bad_rules_are_refused_naming_the_rule() {
        let none = BTreeMap::new();
        assert_eq!(
            PathRules::check(&[config("Projects", "/mnt", &[])], &none).unwrap_err(),
            "rule 1: from \"Projects\" is not an absolute path"
        );
        assert_eq!(
            PathRules::check(&[config("/a", "/b", &["no such/name"])], &none).unwrap_err(),
            "rule 1: workers: \"no such/name\" is not a worker or group name"
        );
        let many = vec![config("/a", "/b", &[]); MAX_PATH_RULES + 1];
        assert_eq!(PathRules::check(&many, &none).unwrap_err(), "257 rules, more than 256");
    }
}
