/** Every registered channel module, and one defined only in the tests, passes the channel contract. */
import { chirpUnderTest } from './chirp.js';
import { channelContract } from './contract.js';
import { instagramUnderTest, tiktokShopUnderTest, tiktokUnderTest } from './platforms.js';

channelContract(instagramUnderTest);
channelContract(tiktokUnderTest);
channelContract(tiktokShopUnderTest);
channelContract(chirpUnderTest);
