-- The agent route_chat would give a chat of the group now, without giving it (get_predicted_agent): the same
-- choice (pick), made in one step over the same sets, writing nothing. Returns the agent id, or nil when nobody can.
-- KEYS: status, load, max, last, first/normal/last member sets, bots.
return pick(KEYS[1], KEYS[2], KEYS[3], KEYS[4], {KEYS[5], KEYS[6], KEYS[7]}, KEYS[8], false, {})
