"""Jobs service (活躍・しごと): opportunities, matching, engagements, まちゼミ seminars and 地域おこし協力隊."""
